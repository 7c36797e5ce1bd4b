"""The API's path and query parameters, validated by one rule each, here.

Identifiers in paths (tenant, invoice, request) follow the one rule of billing/identifiers.py, the directory's.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from billing import identifiers

IDENTIFIER = f"^{identifiers.IDENTIFIER.pattern}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

TenantId = Annotated[str, Path(pattern=IDENTIFIER, description="a tenant of the directory")]
InvoiceId = Annotated[str, Path(pattern=IDENTIFIER, description="an invoice id (in_...) or number (INV-...)")]
RequestId = Annotated[str, Path(pattern=IDENTIFIER, description="a plan change request")]
Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default: the open month")]
