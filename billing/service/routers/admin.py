"""Operators: invoices across tenants by month and status (overdue first), a received transfer recorded
(mark-paid) with the actor taken from the token, and a tenant's audit log."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from billing.payments import Payments
from billing.service import audit
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import AuditEntry, Invoice, MarkPaidIn
from billing.service.params import Month, InvoiceId, TenantId
from billing.service.policy import Access, authorize
from billing.service.routers.invoices import document, invoice_of
from billing.settings import BillingError

router = APIRouter(tags=["operators"], route_class=ExactJSONRoute)


@router.get("/invoices", response_model=list[Invoice])
def all_invoices(request: Request, access: Annotated[Access, Depends(authorize)], svc: Annotated[Service, Depends(service)],
                 month: Month = None, status: Annotated[Literal["paid", "pending", "overdue"] | None, Query()] = None):
    """Every tenant's invoices for a platform administrator; a tenant user's own tenants' otherwise."""
    scopes = [None] if access.tenants is None else access.tenants
    invoices = [i for tenant_id in scopes for i in svc.book.overview(month, status, tenant_id)]
    if access.tenants is not None and len(scopes) > 1:  # one list, overdue first, across the caller's tenants
        order = {"overdue": 0, "pending": 1, "paid": 2}
        invoices.sort(key=lambda i: (order[i.status], i.due_date, i.invoice_number))
    return [document(request, svc, invoice) for invoice in invoices]


@router.post("/tenants/{tenant_id}/invoices/{invoice_id}/mark-paid", response_model=Invoice)
def mark_paid(tenant_id: TenantId, invoice_id: InvoiceId, paid: MarkPaidIn, request: Request,
              access: Annotated[Access, Depends(authorize)], svc: Annotated[Service, Depends(service)]):
    """A received transfer (invoice, wire): recorded by the caller, never by a name given as a parameter."""
    invoice = invoice_of(svc, tenant_id, invoice_id)
    if invoice.status == "paid":
        raise BillingError(f"invoice {invoice.invoice_number} is already paid")
    Payments(svc.book, None, actor=access.caller.subject).mark_paid(invoice, paid.reference, access.caller.subject,
                                                                   svc.settings.now())
    with svc.ledger.engine.begin() as con:
        audit.record(con, access, "invoice_marked_paid", tenant_id, {"status": invoice.status},
                     {"status": "paid", "reference": paid.reference}, invoice.invoice_id, invoice.total)
    return document(request, svc, invoice_of(svc, tenant_id, invoice.invoice_id))


@router.get("/tenants/{tenant_id}/audit", response_model=list[AuditEntry])
def audit_log(tenant_id: TenantId, svc: Annotated[Service, Depends(service)]):
    """Every audited change of a tenant, newest first: through the API, and the close's money events."""
    svc.tenant(tenant_id)
    return audit.of_tenant(svc.ledger, tenant_id)
