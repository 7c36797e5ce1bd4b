"""Invoice history: the contract's invoice documents, newest first, one with its lines, its PDF, a ZIP of a
range of months' PDFs, and the usage behind a line."""
from __future__ import annotations

import io
import zipfile
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from billing.documents import invoice_document
from billing.explain import explain_line
from billing.invoices import Invoice as LedgerInvoice
from billing.object_store import S3Store
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import Invoice, LineExplanation
from billing.service.params import MONTH, InvoiceId, LinePosition, TenantId

router = APIRouter(tags=["invoices"], route_class=ExactJSONRoute)


def pdf_url(request: Request, svc: Service, invoice: LedgerInvoice) -> str | None:
    """A short-lived presigned URL on S3; else the API's own PDF download."""
    if not invoice.pdf_key:
        return None
    store = svc.object_store
    if isinstance(store, S3Store):
        return store.url(invoice.pdf_key)
    return str(request.url_for("invoice_pdf", tenant_id=invoice.tenant_id, invoice_id=invoice.invoice_id))


def document(request: Request, svc: Service, invoice: LedgerInvoice) -> dict:
    return invoice_document(invoice, pdf_url(request, svc, invoice))


def invoice_of(svc: Service, tenant_id: str, invoice_id: str) -> LedgerInvoice:
    svc.tenant(tenant_id)
    invoice = svc.book.of_tenant_invoice(tenant_id, invoice_id)
    if invoice is None:
        raise HTTPException(404, f"no invoice {invoice_id!r} in tenant {tenant_id!r}")
    return invoice


@router.get("/tenants/{tenant_id}/invoices", response_model=list[Invoice])
def invoices(tenant_id: TenantId, request: Request, svc: Annotated[Service, Depends(service)]):
    tenant = svc.tenant(tenant_id)
    return [document(request, svc, invoice) for invoice in svc.book.of_tenant(tenant.tenant_id)]


@router.get("/tenants/{tenant_id}/invoices/{invoice_id}", response_model=Invoice)
def invoice(tenant_id: TenantId, invoice_id: InvoiceId, request: Request, svc: Annotated[Service, Depends(service)]):
    return document(request, svc, invoice_of(svc, tenant_id, invoice_id))


@router.get("/tenants/{tenant_id}/invoices/{invoice_id}/pdf", name="invoice_pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the invoice PDF"}})
def invoice_pdf(tenant_id: TenantId, invoice_id: InvoiceId, svc: Annotated[Service, Depends(service)]):
    found = invoice_of(svc, tenant_id, invoice_id)
    if not found.pdf_key:
        raise HTTPException(404, f"invoice {found.invoice_number} has no PDF yet (the close renders it)")
    return Response(svc.object_store.get(found.pdf_key), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{found.invoice_number}.pdf"'})


@router.get("/tenants/{tenant_id}/invoices/{invoice_id}/lines/{position}/explain", response_model=LineExplanation)
def explain(tenant_id: TenantId, invoice_id: InvoiceId, position: LinePosition,
            svc: Annotated[Service, Depends(service)]):
    """The usage behind an invoice line: daily figures, events, snapshot files and rows, quarantined rows."""
    found = invoice_of(svc, tenant_id, invoice_id)
    if position >= len(found.lines):
        raise HTTPException(404, f"invoice {found.invoice_number} has no line {position}")
    return explain_line(svc.settings, found, position)


@router.get("/tenants/{tenant_id}/invoice-pdfs", response_class=Response,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "a ZIP of the invoice PDFs of the months asked"}})
def invoice_pdfs(tenant_id: TenantId, svc: Annotated[Service, Depends(service)],
                 start: Annotated[str, Query(alias="from", pattern=MONTH, description="first month, YYYY-MM")],
                 end: Annotated[str, Query(alias="to", pattern=MONTH, description="last month, YYYY-MM")]):
    """A ZIP of the PDFs of a range of months (the months with a rendered invoice)."""
    if end < start:
        raise HTTPException(422, f"to {end} is before from {start}")
    svc.tenant(tenant_id)
    store = svc.object_store
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for found in svc.book.of_tenant(tenant_id):
            if start <= found.period <= end and found.pdf_key:
                bundle.writestr(f"{found.period}-{found.invoice_number}.pdf", store.get(found.pdf_key))
    return Response(archive.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{tenant_id}-invoices-{start}-{end}.zip"'})
