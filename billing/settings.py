"""Where billing data lives. Read from the environment when asked, never at import.

Every location has an embedded default under BILLING_HOME, so nothing needs a server.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path


class BillingError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""


# Longest quote of an outside value in an error: a 300 MB value must not make a 300 MB log line.
SHOWN_CHARS = 80


def shown(value) -> str:
    """An outside value as an error quotes it: repr (one line, control characters escaped), at most SHOWN_CHARS."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS - 1]}…"


def mask_url(url: str) -> str:
    """A URL as it may be shown (errors, logs, the event log): `user:***@host`, no password= parameter.

    Parsed by hand, not by SQLAlchemy: a URL it cannot parse is the one an error shows."""
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest:
        # Up to the last @: a password may hold @, / or :, and anything after the user name may be secret.
        credentials, _, location = rest.rpartition("@")
        rest = f"{credentials.split(':', 1)[0]}:***@{location}"
    return re.sub(r"(?i)\b(password|passwd|pwd|secret|token|api_key)=[^&;\s]*", r"\1=***", scheme + separator + rest)


def without_url_secrets(text: str, url: str) -> str:
    """`text` (a driver's error about `url`) with the URL masked and its password blanked wherever it appears."""
    text = text.replace(url, mask_url(url))
    password = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    return text.replace(password, "***") if password else text


@dataclass(frozen=True)
class Seller:
    """Who issues the invoices, as their PDFs name it; multi-line values come from `;`-separated settings."""
    name: str = "Example Data Platform, Inc."
    address: tuple[str, ...] = ("100 Example Street", "San Francisco, CA 94105", "United States")
    tax_id: str = "EIN 00-0000000"
    # Where invoice and wire tenants send their transfers.
    bank_details: tuple[str, ...] = ("Bank: Example Bank, N.A.", "Account name: Example Data Platform, Inc.",
                                     "Account number: 000123456789", "ABA routing number: 110000000",
                                     "SWIFT/BIC: EXAMUS33")

    @classmethod
    def from_env(cls, env) -> "Seller":
        default = cls()
        return cls(
            name=env.get("BILLING_SELLER_NAME") or default.name,
            address=_lines(env, "BILLING_SELLER_ADDRESS") or default.address,
            tax_id=env.get("BILLING_SELLER_TAX_ID") or default.tax_id,
            bank_details=_lines(env, "BILLING_BANK_DETAILS") or default.bank_details,
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    snapshot_root: str
    ledger_url: str
    warehouse_dir: Path
    object_store: str
    price_book: Path
    dagster_home: Path
    reports_dir: Path
    aws_endpoint_url: str | None
    presign_seconds: int
    alert_transport: str
    payment_retry_days: tuple[int, ...]
    overdue_grace_days: int
    alert_sender: str
    operator_email: str
    invoice_grace_days: int
    dagster_url: str
    first_month: str
    seller: Seller = Seller()
    # BILLING_NOW: the moment business dates are taken from (invoices final, payments due, overdue, alerts,
    # month to date); None is the wall clock. Tests set it, and so can an operator rerunning "as of" a day.
    fixed_now: datetime | None = None

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(timezone.utc)

    def today(self) -> date:
        return self.now().date()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("BILLING_HOME") or "./.billing").resolve()
        return cls(
            home=home,
            snapshot_root=env.get("BILLING_SNAPSHOT_ROOT") or str(home / "snapshots"),
            ledger_url=env.get("BILLING_LEDGER_URL") or f"sqlite:///{home / 'ledger.sqlite'}",
            warehouse_dir=Path(env.get("BILLING_WAREHOUSE_DIR") or home / "warehouse"),
            object_store=env.get("BILLING_OBJECT_STORE") or str(home / "objects"),
            price_book=Path(env.get("BILLING_PRICE_BOOK") or Path(__file__).with_name("price_book.yaml")),
            dagster_home=Path(env.get("DAGSTER_HOME") or home / "dagster"),
            reports_dir=home / "reports",
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            presign_seconds=_int(env, "BILLING_PRESIGN_SECONDS", 7 * 24 * 3600),
            invoice_grace_days=_int(env, "BILLING_INVOICE_GRACE_DAYS", 2),
            alert_transport=env.get("BILLING_ALERT_TRANSPORT") or "files",
            payment_retry_days=_days_list(env, "BILLING_PAYMENT_RETRY_DAYS", (3, 5, 7)),
            overdue_grace_days=_int(env, "BILLING_OVERDUE_GRACE_DAYS", 3),
            alert_sender=env.get("BILLING_ALERT_SENDER") or "billing@localhost",
            operator_email=env.get("BILLING_OPERATOR_EMAIL") or "billing-operators@localhost",
            # The Dagster UI as operators reach it (behind the proxy): run-failure emails link to runs there.
            dagster_url=(env.get("BILLING_DAGSTER_URL") or "http://127.0.0.1:3000").rstrip("/"),
            first_month=_month(env, "BILLING_FIRST_MONTH", "2024-01"),
            seller=Seller.from_env(env),
            fixed_now=_moment(env, "BILLING_NOW"),
        )


def _int(env, name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise BillingError(f"{name} must be a whole number, got {value!r}") from None


def _lines(env, name: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in (env.get(name) or "").split(";") if line.strip())


def _month(env, name: str, default: str) -> str:
    value = env.get(name) or default
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise BillingError(f"{name} must be a month YYYY-MM, got {value!r}") from None
    if len(value) != 7:
        raise BillingError(f"{name} must be a month YYYY-MM, got {value!r}")
    return value


def _days_list(env, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    value = env.get(name)
    if not value:
        return default
    try:
        days = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise BillingError(f"{name} must be days after issue like 3,5,7, got {value!r}") from None
    if list(days) != sorted(set(days)) or days[0] < 0:
        raise BillingError(f"{name} must be increasing days after issue like 3,5,7, got {value!r}")
    return days


def _moment(env, name: str) -> datetime | None:
    """An ISO date (its 00:00 UTC) or a date and time with an offset."""
    value = env.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or (moment.tzinfo is None and "T" in value.upper()):
        raise BillingError(f"{name} must be a date YYYY-MM-DD or a time with an offset like "
                           f"2026-12-05T09:00:00Z, got {value!r}")
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
