"""Payment method: the tenant's method, replaced under section 2's rules (ACH for US tenants only, invoice and
wire for Enterprise only). Card and ACH go through Stripe: the page asks for a SetupIntent, confirms it with
Stripe.js (the card number never reaches us), then PUTs the payment method id it got."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from typing import Annotated

import sqlalchemy as sa
import stripe
from fastapi import APIRouter, Depends

from billing.directory import check_payment_method
from billing.payments import Payments, display_of
from billing.service import audit
from billing.service.app import Service, service
from billing.service.exact_json import ExactJSONRoute
from billing.service.models import PaymentMethod, PaymentMethodIn, SetupIntent, SetupIntentIn
from billing.service.params import TenantId
from billing.service.policy import Access, authorize
from billing.settings import BillingError
from billing.sql import query

router = APIRouter(tags=["payment method"], route_class=ExactJSONRoute)
STRIPE_TYPES = {"card": "card", "ach": "us_bank_account"}
# A bank account is verified at once through Stripe's Financial Connections, never by micro-deposits: those take
# days and a second visit to enter them, which the page does not offer, and an unverified account cannot be debited.
SETUP_OPTIONS = {"card": {}, "ach": {"us_bank_account": {"verification_method": "instant"}}}


def stripe_client() -> stripe.StripeClient | None:
    """Stripe as the close reaches it (STRIPE_API_KEY, STRIPE_API_BASE); None without a key."""
    key = os.environ.get("STRIPE_API_KEY")
    if not key:
        return None
    base = os.environ.get("STRIPE_API_BASE")
    return stripe.StripeClient(key, base_addresses={"api": base} if base else None)


def stored(svc: Service, tenant_id: str) -> dict | None:
    with svc.ledger.engine.connect() as con:
        row = con.execute(sa.text(query("ledger/payment_method_get")), {"tenant_id": tenant_id}).first()
        return dict(row._mapping) if row else None


def current(svc: Service, tenant_id: str) -> PaymentMethod:
    tenant = svc.tenant(tenant_id)
    record = stored(svc, tenant_id) or {}
    same = record.get("stripe_payment_method") == tenant.stripe_payment_method
    return PaymentMethod(tenant_id=tenant_id, type=tenant.payment_method_type,
                         stripe_payment_method=tenant.stripe_payment_method,
                         display=record.get("display") if same else None)


@router.get("/tenants/{tenant_id}/payment-method", response_model=PaymentMethod)
def payment_method(tenant_id: TenantId, svc: Annotated[Service, Depends(service)]):
    return current(svc, tenant_id)


@router.post("/tenants/{tenant_id}/payment-method/setup-intent", response_model=SetupIntent, status_code=201)
def setup_intent(tenant_id: TenantId, wanted: SetupIntentIn, svc: Annotated[Service, Depends(service)]):
    """A Stripe SetupIntent for the page to confirm with Stripe.js; the tenant's Stripe customer is made once."""
    tenant = svc.tenant(tenant_id)
    check_payment_method(replace(tenant, payment_method_type=wanted.type))
    client = stripe_client()
    if client is None:
        raise BillingError("card and ACH need Stripe: STRIPE_API_KEY is not set")
    customer = (stored(svc, tenant_id) or {}).get("stripe_customer_id") or client.v1.customers.create(
        params={"name": tenant.name, "metadata": {"tenant_id": tenant_id}},
        options={"idempotency_key": f"customer-{tenant_id}"}).id
    intent = client.v1.setup_intents.create(params={
        "customer": customer, "payment_method_types": [STRIPE_TYPES[wanted.type]], "usage": "off_session",
        "payment_method_options": SETUP_OPTIONS[wanted.type], "metadata": {"tenant_id": tenant_id}})
    return SetupIntent(setup_intent_id=intent.id, client_secret=intent.client_secret, customer=customer, type=wanted.type)


@router.put("/tenants/{tenant_id}/payment-method", response_model=PaymentMethod)
def set_payment_method(tenant_id: TenantId, method: PaymentMethodIn, access: Annotated[Access, Depends(authorize)],
                       svc: Annotated[Service, Depends(service)]):
    tenant = svc.tenant(tenant_id)
    charged = method.type in STRIPE_TYPES
    if charged and not method.stripe_payment_method:
        raise BillingError(f"stripe_payment_method is required for {method.type}")
    if not charged and method.stripe_payment_method:
        raise BillingError(f"{method.type} takes no stripe_payment_method")
    check_payment_method(replace(tenant, payment_method_type=method.type, stripe_payment_method=method.stripe_payment_method))
    before = current(svc, tenant_id).model_dump()
    client = stripe_client()
    if charged and client is not None:
        found = client.v1.payment_methods.retrieve(method.stripe_payment_method)
        if found.type != STRIPE_TYPES[method.type]:  # a card's id saved as ACH would be debited as neither
            raise BillingError(f"{found.id} is a {found.type} payment method, not {STRIPE_TYPES[method.type]}")
        if getattr(found, "customer", None):  # confirmed through our SetupIntent: already the tenant's customer's
            owner = client.v1.customers.retrieve(found.customer)  # ours name their tenant: never save another's
            if getattr(owner.metadata, "tenant_id", None) != tenant_id:
                raise BillingError(f"{found.id} was set up for another customer, not tenant {tenant_id}'s")
            record = {"tenant_id": tenant_id, "type": method.type, "stripe_customer_id": found.customer,
                      "stripe_payment_method": found.id, "display": display_of(found)}
            with svc.ledger.engine.begin() as con:
                con.execute(sa.text(query("ledger/payment_method_upsert")), {**record, "now": _now()})
        else:
            Payments(svc.book, client, actor=access.caller.subject).set_method(tenant, method.type, method.stripe_payment_method)
    svc.ledger.set_payment_method(tenant_id, method.type, method.stripe_payment_method)
    after = current(svc, tenant_id)
    with svc.ledger.engine.begin() as con:
        audit.record(con, access, "payment_method_set", tenant_id, before, after.model_dump())
    return after


def _now() -> str:
    """When the record was written: a log time."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
