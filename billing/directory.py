"""The tenant directory (contract section 2): parsing, validation and the plan timeline.

A directory that breaks a rule is refused as a whole: `parse_directory` raises BillingError naming
the tenant and the field, before anything is written. The file comes from outside: it is read by a YAML
loader that builds plain data only (no aliases, no duplicate keys, a bounded depth), every scalar but null
and true/false as text, so that each field is parsed by its own rule (a date, a decimal, an identifier).
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
from billing.identifiers import RULE as IDENTIFIER_RULE, is_identifier
from billing.settings import SHOWN_CHARS, BillingError, shown

ROLES = ("tenant_admin", "billing_contact", "member")
PAYMENT_TYPES = ("card", "ach", "invoice", "wire")
ENTERPRISE_ONLY_PAYMENTS = ("invoice", "wire")
CHANNELS = ("email", "in_app", "sms")
COUNTRIES = frozenset(Path(__file__).with_name("iso_countries.txt").read_text().split())
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# Nesting of the directory is 4 deep (tenants, a tenant, its users, a user); anything far deeper is an attack.
MAX_DEPTH = 32
# Longest names and tax ids a directory may hold: they are shown on invoices, pages and alerts.
MAX_NAME = 200
MAX_TAX_ID = 50


@dataclass(frozen=True)
class Membership:
    """One span of a user's presence in the directory, [active_from, active_until), kept by the ledger."""
    active_from: date | None = None  # None: since the tenant's first import
    active_until: date | None = None  # None: still in the directory

    def overlaps(self, first: date, last: date) -> bool:
        return (self.active_from is None or self.active_from <= last) and (
            self.active_until is None or self.active_until > first
        )


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    role: str
    phone: str | None = None
    # Every span in the directory, oldest first: a user removed and added again has two.
    memberships: tuple[Membership, ...] = (Membership(),)

    def active_during(self, first: date, last: date) -> bool:
        return any(membership.overlaps(first, last) for membership in self.memberships)

    @property
    def current(self) -> bool:
        """In the directory now (its latest span is open)."""
        return self.memberships[-1].active_until is None


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
        raise BillingError(f"bad month {shown(period)}: expected YYYY-MM")
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
        return BillingError(f"tenant {shown(self.tenant_id)}: {field_name}: {problem}")


def _text(check: _Check, raw: dict, key: str, required: bool = True, max_length: int | None = None,
          where: str | None = None) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise check.fail(where or key, "is required")
        return None
    if isinstance(value, bool):
        raise check.fail(where or key, f"must be text, got {str(value).lower()}: YAML reads an unquoted yes, no, on or "
                                       "off as true or false, so write the text in quotes (country: 'NO')")
    if not isinstance(value, str):
        raise check.fail(where or key, f"must be text, got {shown(value)}")
    text = value.strip()
    if max_length is not None and len(text) > max_length:
        raise check.fail(where or key, f"is {len(text):,} characters long, at most {max_length} allowed")
    return text


def _identifier(check: _Check, raw: dict, key: str, field_name: str, required: bool = True) -> str | None:
    value = _text(check, raw, key, required)
    if value is not None and not is_identifier(value):
        raise check.fail(field_name, f"{shown(value)} {IDENTIFIER_RULE}")
    return value


def _date(check: _Check, value, field_name: str) -> date:
    try:
        if isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
            return date.fromisoformat(value.strip())
        raise ValueError(value)
    except ValueError:
        raise check.fail(field_name, f"must be a date YYYY-MM-DD, got {shown(value)}") from None


def _number(check: _Check, value, field_name: str) -> Decimal:
    try:
        return to_decimal(value, field_name)
    except ValueError:
        raise check.fail(field_name, f"must be a number, got {shown(value)}") from None


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
        user_id = _identifier(check, raw, "user_id", f"{where}.user_id")
        if user_id in seen:
            raise check.fail(f"{where}.user_id", f"{shown(user_id)} appears twice")
        seen.add(user_id)
        email = _text(check, raw, "email")
        if not EMAIL.fullmatch(email):
            raise check.fail(f"{where}.email", f"{shown(email)} is not an email address")
        role = _text(check, raw, "role")
        if role not in ROLES:
            raise check.fail(f"{where}.role", f"{shown(role)} is not one of {', '.join(ROLES)}")
        phone = _text(check, raw, "phone", required=False)
        if phone is not None:
            # Spaces, dashes, dots and brackets are only for reading; SMS needs E.164.
            phone = re.sub(r"[\s().-]", "", phone)
            if not PHONE.fullmatch(phone):
                raise check.fail(f"{where}.phone", f"{shown(raw['phone'])} is not an international number like +15550100001")
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
        raise BillingError(f"tenant entry {shown(raw)}: must be a mapping")
    check = _Check(str(raw.get("tenant_id") or "?"))
    tenant_id = _identifier(check, raw, "tenant_id", "tenant_id")
    country = (_text(check, raw, "country") or "").upper()
    if country not in COUNTRIES:
        raise check.fail("country", f"{shown(raw.get('country'))} is not an ISO 3166 alpha-2 code")
    plan = _text(check, raw, "plan")
    if plan not in PLANS:
        raise check.fail("plan", f"{shown(plan)} is not one of {', '.join(PLANS)}")

    changes: dict[date, str] = {}
    for index, change in enumerate(raw.get("plan_changes") or []):
        where = f"plan_changes[{index}]"
        if not isinstance(change, dict):
            raise check.fail(where, "must be a mapping with plan and effective")
        effective = _date(check, change.get("effective"), f"{where}.effective")
        if not isinstance(change.get("plan"), str) or change["plan"] not in PLANS:
            raise check.fail(f"{where}.plan", f"{shown(change.get('plan'))} is not one of {', '.join(PLANS)}")
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
        raise check.fail("payment_method.type", f"{shown(payment_type)} is not one of {', '.join(PAYMENT_TYPES)}")
    tenant = Tenant(
        tenant_id=tenant_id,
        name=_text(check, raw, "name", max_length=MAX_NAME),
        country=country,
        plan=plan,
        plan_changes=plan_changes,
        contract_monthly_fee=contract_fee,
        tax_rate=tax_rate,
        payment_method_type=payment_type,
        stripe_payment_method=_identifier(check, payment, "stripe_payment_method", "payment_method.stripe_payment_method",
                                          required=False),
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
        raise check.fail("payment_method.type", f"{shown(payment_type)} is not one of {', '.join(PAYMENT_TYPES)}")
    if payment_type in ENTERPRISE_ONLY_PAYMENTS and tenant.latest_plan() != "enterprise":
        raise check.fail("payment_method.type", f"{shown(payment_type)} is for enterprise tenants only")
    if payment_type == "ach" and tenant.country != "US":
        raise check.fail("payment_method.type", f"'ach' is for US tenants only (country is {tenant.country})")


class _DirectoryLoader(yaml.SafeLoader):
    """YAML as plain data: aliases, anchors and tags refused (a "billion laughs" file expands a few lines into
    gigabytes), duplicate keys refused (a second `tenants:` would silently replace the first), at most
    MAX_DEPTH levels (20,000 `[` would exhaust Python's stack), and every scalar but null and true/false read
    as text: `2026-02-30` is then a bad date of its field, not a YAML error, and `0123` or `+15550100001` keep
    their digits."""

    yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers
                if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors and aliases (& and *) are not allowed",
                                              event.start_mark)
        if getattr(event, "tag", None) not in (None, "!"):  # !!timestamp x, !!binary ...: the field says the type
            raise yaml.composer.ComposerError(None, None, f"tags like {shown(event.tag)} are not allowed", event.start_mark)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {shown(key)} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse_directory(text: str, source: str = "directory") -> list[Tenant]:
    try:
        document = yaml.load(text, Loader=_DirectoryLoader)  # noqa: S506 - a SafeLoader, stricter still
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None)
        detail = f": {problem[:SHOWN_CHARS]}" if problem else ""
        raise BillingError(f"{source}: not valid YAML{where}{detail}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tenants"), list):
        raise BillingError(f"{source}: expected a mapping with a 'tenants' list")
    tenants, seen = [], set()
    for raw in document["tenants"]:
        tenant = _parse_tenant(raw)
        if tenant.tenant_id in seen:
            raise BillingError(f"tenant {shown(tenant.tenant_id)}: tenant_id: appears twice in {source}")
        seen.add(tenant.tenant_id)
        tenants.append(tenant)
    return tenants


def load_directory(path: Path) -> list[Tenant]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BillingError(f"cannot read directory {path}: {getattr(error, 'strerror', None) or error}") from None
    return parse_directory(text, str(path))
