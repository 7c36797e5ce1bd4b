"""The audit log of changes made through the API: actor and role from the token, tenant, time, before and
after. Written in the transaction of the change it records."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.ledger import Ledger
from billing.money import dumps
from billing.service.policy import Access
from billing.sql import query


def _json(value) -> str | None:
    return None if value is None else dumps(value)


def record(con: Connection, access: Access, event: str, tenant_id: str, before, after, invoice_id: str | None = None,
           amount: Decimal | None = None, details: str | None = None) -> None:
    con.execute(sa.text(query("ledger/audit_service_insert")), {
        "audit_id": uuid.uuid4().hex,
        "now": datetime.now(timezone.utc).isoformat(timespec="microseconds"),  # when it was written: a log time
        "actor": access.caller.subject, "actor_role": access.caller.role_in(tenant_id), "event": event,
        "tenant_id": tenant_id, "invoice_id": invoice_id, "amount": None if amount is None else str(amount),
        "details": details, "before_value": _json(before), "after_value": _json(after)})


def of_tenant(ledger: Ledger, tenant_id: str) -> list[dict]:
    with ledger.engine.connect() as con:
        rows = con.execute(sa.text(query("ledger/audit_of_tenant")), {"tenant_id": tenant_id})
        return [{**{k: v for k, v in row._mapping.items() if k not in ("before_value", "after_value")},
                 "before": json.loads(row.before_value) if row.before_value else None,
                 "after": json.loads(row.after_value) if row.after_value else None} for row in rows]
