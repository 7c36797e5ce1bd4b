"""Where billing data lives. Read from the environment when asked, never at import.

Every location has an embedded default under BILLING_HOME, so nothing needs a server.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path


class BillingError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero."""


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
