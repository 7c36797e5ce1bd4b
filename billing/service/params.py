"""The path and query parameters of the API and the Billing page, validated by one rule each, here.

Identifiers in paths (tenant, invoice, request, notification) follow the one rule of billing/identifiers.py, the
directory's.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query

from billing import identifiers

IDENTIFIER = f"^{identifiers.IDENTIFIER.pattern}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

TenantId = Annotated[str, Path(pattern=IDENTIFIER, description="a tenant of the directory")]
InvoiceId = Annotated[str, Path(pattern=IDENTIFIER, description="an invoice id (in_...) or number (INV-...)")]
RequestId = Annotated[str, Path(pattern=IDENTIFIER, description="a plan change request")]
NotificationId = Annotated[str, Path(pattern=IDENTIFIER, description="an in-app notification")]
BudgetId = Annotated[int, Path(ge=0, le=1_000_000, description="a budget's position in the tenant's list")]
LinePosition = Annotated[int, Path(ge=0, le=1000, description="an invoice line, from 0")]
Decision = Annotated[Literal["approve", "reject"], Path(description="a platform administrator's decision on a request")]
Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default: the open month")]
