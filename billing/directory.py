"""The tenant directory (contract section 2): parsing, validation and the plan timeline.

A directory that breaks a rule is refused as a whole: `parse_directory` raises BillingError naming
the tenant and the field, before anything is written.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from billing.money import to_decimal
from billing.price_book import PLANS
from billing.settings import BillingError

ROLES = ("tenant_admin", "billing_contact", "member")
PAYMENT_TYPES = ("card", "ach", "invoice", "wire")
ENTERPRISE_ONLY_PAYMENTS = ("invoice", "wire")
CHANNELS = ("email", "in_app", "sms")
COUNTRIES = frozenset(Path(__file__).with_name("iso_countries.txt").read_text().split())
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
# Longest names and tax ids a directory may hold: they are shown on invoices, pages and alerts.
MAX_NAME = 200
MAX_TAX_ID = 50


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    role: str
    phone: str | None = None
    # Membership in the directory, kept by the ledger across imports (see users in the ledger schema).
    active_from: date | None = None
    active_until: date | None = None

    def active_during(self, first: date, last: date) -> bool:
        return (self.active_from is None or self.active_from <= last) and (
            self.active_until is None or self.active_until > first
        )


@dataclass(frozen=True)
class Budget:
    amount_usd: Decimal
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    country: str
    plan: str
    plan_changes: tuple[tuple[date, str], ...] = ()
    contract_monthly_fee: Decimal | None = None
    tax_rate: Decimal = Decimal("0")
    payment_method_type: str = "card"
    stripe_payment_method: str | None = None
    budgets: tuple[Budget, ...] = ()
    users: tuple[User, ...] = field(default_factory=tuple)
    tax_id: str | None = None  # the buyer's VAT or tax number, shown on its invoices

    def plan_on(self, day: date) -> str:
        """The plan in effect on `day`: `plan` until the first change, then each change from 00:00 UTC of its date."""
        current = self.plan
        for effective, plan in self.plan_changes:
            if effective <= day:
                current = plan
        return current

    def seats(self, period: str) -> int:
        """Users of the tenant in the directory at any time during the month."""
        days = month_days(period)
        return sum(user.active_during(days[0], days[-1]) for user in self.users)

    def latest_plan(self) -> str:
        return self.plan_changes[-1][1] if self.plan_changes else self.plan


def month_days(period: str) -> list[date]:
    year, month = parse_period(period)
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def parse_period(period: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", period or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BillingError(f"bad month {period!r}: expected YYYY-MM")
    return int(match.group(1)), int(match.group(2))


def plan_days(tenant: Tenant, period: str) -> list[tuple[str, int]]:
    """(plan, days on it) for each plan in effect during the month, in order of first day."""
    spans: dict[str, int] = {}
    for day in month_days(period):
        plan = tenant.plan_on(day)
        spans[plan] = spans.get(plan, 0) + 1
    return list(spans.items())


def last_day(period: str) -> date:
    return month_days(period)[-1]


def next_month_start(period: str) -> date:
    return last_day(period) + timedelta(days=1)


class _Check:
    """Collects the context of the field being read, so every error names tenant and field."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id

    def fail(self, field_name: str, problem: str) -> BillingError:
        return BillingError(f"tenant {self.tenant_id!r}: {field_name}: {problem}")


def _text(check: _Check, raw: dict, key: str, required: bool = True, max_length: int | None = None,
          where: str | None = None) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise check.fail(where or key, "is required")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise check.fail(where or key, f"must be text, got {value!r}")
    text = str(value).strip()
    if max_length is not None and len(text) > max_length:
        raise check.fail(where or key, f"is {len(text):,} characters long, at most {max_length} allowed")
    return text


def _date(check: _Check, value, field_name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise check.fail(field_name, f"must be a date YYYY-MM-DD, got {value!r}") from None


def _number(check: _Check, value, field_name: str) -> Decimal:
    try:
        return to_decimal(value, field_name)
    except ValueError as error:
        raise check.fail(field_name, str(error).removeprefix(field_name + " ")) from None


def _parse_users(check: _Check, raw_users) -> tuple[User, ...]:
    if raw_users is None:
        return ()
    if not isinstance(raw_users, list):
        raise check.fail("users", "must be a list")
    users, seen = [], set()
    for index, raw in enumerate(raw_users):
        where = f"users[{index}]"
        if not isinstance(raw, dict):
            raise check.fail(where, "must be a mapping")
        user_id = _text(check, raw, "user_id")
        if user_id in seen:
            raise check.fail(f"{where}.user_id", f"{user_id!r} appears twice")
        seen.add(user_id)
        email = _text(check, raw, "email")
        if not EMAIL.match(email):
            raise check.fail(f"{where}.email", f"{email!r} is not an email address")
        role = _text(check, raw, "role")
        if role not in ROLES:
            raise check.fail(f"{where}.role", f"{role!r} is not one of {', '.join(ROLES)}")
        phone = _text(check, raw, "phone", required=False)
        if phone is not None:
            # Spaces, dashes, dots and brackets are only for reading; SMS needs E.164.
            phone = re.sub(r"[\s().-]", "", phone)
            if not PHONE.match(phone):
                raise check.fail(f"{where}.phone", f"{raw['phone']!r} is not an international number like +15550100001")
        name = _text(check, raw, "name", required=False, max_length=MAX_NAME, where=f"{where}.name")
        users.append(User(user_id, name or user_id, email, role, phone))
    return tuple(users)


def _parse_budgets(check: _Check, raw_budgets) -> tuple[Budget, ...]:
    if raw_budgets is None:
        return ()
    if not isinstance(raw_budgets, list):
        raise check.fail("budgets", "must be a list")
    budgets = []
    for index, raw in enumerate(raw_budgets):
        where = f"budgets[{index}]"
        if not isinstance(raw, dict):
            raise check.fail(where, "must be a mapping")
        amount = _number(check, raw.get("amount_usd"), f"{where}.amount_usd")
        if amount <= 0:
            raise check.fail(f"{where}.amount_usd", "must be above 0")
        channels = raw.get("channels") or []
        if not isinstance(channels, list) or not channels or any(c not in CHANNELS for c in channels):
            raise check.fail(f"{where}.channels", f"must be a non-empty list of {', '.join(CHANNELS)}")
        budgets.append(Budget(amount, tuple(dict.fromkeys(channels))))
    return tuple(budgets)


def _parse_tenant(raw) -> Tenant:
    if not isinstance(raw, dict):
        raise BillingError(f"tenant entry {raw!r}: must be a mapping")
    check = _Check(str(raw.get("tenant_id") or "?"))
    tenant_id = _text(check, raw, "tenant_id")
    if not IDENTIFIER.match(tenant_id):
        raise check.fail("tenant_id", "may hold letters, digits and . _ : @ - only")
    country = (_text(check, raw, "country") or "").upper()
    if country not in COUNTRIES:
        raise check.fail("country", f"{raw.get('country')!r} is not an ISO 3166 alpha-2 code")
    plan = _text(check, raw, "plan")
    if plan not in PLANS:
        raise check.fail("plan", f"{plan!r} is not one of {', '.join(PLANS)}")

    changes: dict[date, str] = {}
    for index, change in enumerate(raw.get("plan_changes") or []):
        where = f"plan_changes[{index}]"
        if not isinstance(change, dict):
            raise check.fail(where, "must be a mapping with plan and effective")
        effective = _date(check, change.get("effective"), f"{where}.effective")
        if change.get("plan") not in PLANS:
            raise check.fail(f"{where}.plan", f"{change.get('plan')!r} is not one of {', '.join(PLANS)}")
        if effective in changes:
            raise check.fail(f"{where}.effective", f"two plan changes take effect on {effective}")
        changes[effective] = change["plan"]
    plan_changes = tuple(sorted(changes.items()))
    plans_ever = {plan, *changes.values()}

    fee = raw.get("contract_monthly_fee")
    contract_fee = None
    if fee is not None:
        contract_fee = _number(check, fee, "contract_monthly_fee")
        if contract_fee < 0:
            raise check.fail("contract_monthly_fee", "must not be negative")
        if "enterprise" not in plans_ever:
            raise check.fail("contract_monthly_fee", "is for enterprise tenants only")
    elif "enterprise" in plans_ever:
        raise check.fail("contract_monthly_fee", "is required for an enterprise plan")

    tax_rate = _number(check, raw.get("tax_rate", 0) or 0, "tax_rate")
    if not Decimal(0) <= tax_rate < Decimal(1):
        raise check.fail("tax_rate", f"must be from 0 up to 1 (0.2 for 20 %), got {tax_rate}")

    payment = raw.get("payment_method")
    if not isinstance(payment, dict):
        raise check.fail("payment_method", "is required: a mapping with type card, ach, invoice or wire")
    payment_type = payment.get("type")
    if payment_type not in PAYMENT_TYPES:
        raise check.fail("payment_method.type", f"{payment_type!r} is not one of {', '.join(PAYMENT_TYPES)}")
    tenant = Tenant(
        tenant_id=tenant_id,
        name=_text(check, raw, "name", max_length=MAX_NAME),
        country=country,
        plan=plan,
        plan_changes=plan_changes,
        contract_monthly_fee=contract_fee,
        tax_rate=tax_rate,
        payment_method_type=payment_type,
        stripe_payment_method=_text(check, payment, "stripe_payment_method", required=False),
        budgets=_parse_budgets(check, raw.get("budgets")),
        users=_parse_users(check, raw.get("users")),
        tax_id=_text(check, raw, "tax_id", required=False, max_length=MAX_TAX_ID),
    )
    check_payment_method(tenant)
    return tenant


def check_payment_method(tenant: Tenant) -> None:
    """The seed's payment rules: invoice and wire for Enterprise, ACH for US tenants."""
    check, payment_type = _Check(tenant.tenant_id), tenant.payment_method_type
    if payment_type not in PAYMENT_TYPES:
        raise check.fail("payment_method.type", f"{payment_type!r} is not one of {', '.join(PAYMENT_TYPES)}")
    if payment_type in ENTERPRISE_ONLY_PAYMENTS and tenant.latest_plan() != "enterprise":
        raise check.fail("payment_method.type", f"{payment_type!r} is for enterprise tenants only")
    if payment_type == "ach" and tenant.country != "US":
        raise check.fail("payment_method.type", f"'ach' is for US tenants only (country is {tenant.country})")


def parse_directory(text: str, source: str = "directory") -> list[Tenant]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BillingError(f"{source}: not valid YAML{where}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tenants"), list):
        raise BillingError(f"{source}: expected a mapping with a 'tenants' list")
    tenants, seen = [], set()
    for raw in document["tenants"]:
        tenant = _parse_tenant(raw)
        if tenant.tenant_id in seen:
            raise BillingError(f"tenant {tenant.tenant_id!r}: tenant_id: appears twice in {source}")
        seen.add(tenant.tenant_id)
        tenants.append(tenant)
    return tenants


def load_directory(path: Path) -> list[Tenant]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BillingError(f"cannot read directory {path}: {getattr(error, 'strerror', None) or error}") from None
    return parse_directory(text, str(path))
