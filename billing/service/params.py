"""The API's path and query parameters, validated by one rule each, here.

IDENTIFIER is the service's own rule for tenant, user, invoice and request identifiers in paths until the
directory's validation is shared (it admits what billing/directory.py admits today, up to 128 characters).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

TenantId = Annotated[str, Path(pattern=IDENTIFIER, description="a tenant of the directory")]
InvoiceId = Annotated[str, Path(pattern=IDENTIFIER, description="an invoice id (in_...) or number (INV-...)")]
RequestId = Annotated[str, Path(pattern=IDENTIFIER, description="a plan change request")]
Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default: the open month")]
