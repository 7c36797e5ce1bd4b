"""The billing ledger: SQLite under BILLING_HOME by default, PostgreSQL through BILLING_LEDGER_URL.

The schema is versioned SQL in sql/ledger/migrations, applied in order and recorded in schema_migrations.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from billing.directory import Budget, Tenant, User, check_payment_method
from billing.settings import BillingError
from billing.sql import SQL_DIR, query, statements

MIGRATIONS = SQL_DIR / "ledger" / "migrations"


def _q(name: str) -> sa.TextClause:
    return sa.text(query(f"ledger/{name}"))


class Ledger:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = sa.create_engine(url)
        except (SQLAlchemyError, ImportError, ValueError) as error:
            raise BillingError(f"ledger URL {url!r}: {error}") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_foreign_keys)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied; return their versions."""
        applied_now = []
        try:
            with self.engine.begin() as con:
                con.execute(_q("schema_migrations_create"))
                done = {row.version for row in con.execute(_q("schema_migrations_applied"))}
                for path in sorted(MIGRATIONS.glob("*.sql")):
                    if path.stem in done:
                        continue
                    for statement in statements(f"ledger/migrations/{path.stem}"):
                        con.exec_driver_sql(statement)
                    con.execute(_q("schema_migrations_record"), {"version": path.stem, "applied_at": _now()})
                    applied_now.append(path.stem)
        except SQLAlchemyError as error:
            raise BillingError(f"ledger {self.engine.url.render_as_string()}: {_first_line(error)}") from None
        return applied_now

    def import_directory(self, tenants: list[Tenant], today: date) -> dict[str, int]:
        """Insert or update every tenant in one transaction; return counts of what changed. `today` dates the
        membership of users added or removed by this import."""
        self.migrate()
        summary = {"tenants_added": 0, "tenants_updated": 0, "tenants_unchanged": 0, "users_added": 0, "users_removed": 0}
        with self.engine.begin() as con:
            existing = {tenant.tenant_id: tenant for tenant in self._tenants(con)}
            for tenant in tenants:
                before = existing.get(tenant.tenant_id)
                if before is None:
                    summary["tenants_added"] += 1
                elif _as_directory(before) == _as_directory(tenant):
                    summary["tenants_unchanged"] += 1
                    continue
                else:
                    summary["tenants_updated"] += 1
                self._write_tenant(con, tenant, before, today, summary)
        return summary

    def _write_tenant(self, con: Connection, tenant: Tenant, before: Tenant | None, today: date, summary: dict) -> None:
        key = {"tenant_id": tenant.tenant_id}
        con.execute(_q("tenant_upsert"), {
            **key,
            "name": tenant.name,
            "country": tenant.country,
            "plan": tenant.plan,
            "contract_monthly_fee": _text(tenant.contract_monthly_fee),
            "tax_rate": str(tenant.tax_rate),
            "payment_method_type": tenant.payment_method_type,
            "stripe_payment_method": tenant.stripe_payment_method,
            "tax_id": tenant.tax_id,
            "now": _now(),
        })
        # executemany for the lists: a directory of 10k tenants imports in seconds
        con.execute(_q("plan_changes_delete"), key)
        if tenant.plan_changes:
            con.execute(_q("plan_change_insert"), [
                {**key, "effective": effective.isoformat(), "plan": plan} for effective, plan in tenant.plan_changes])
        con.execute(_q("budgets_delete"), key)
        if tenant.budgets:
            con.execute(_q("budget_insert"), [
                {**key, "position": position, "amount_usd": str(budget.amount_usd), "channels": ",".join(budget.channels)}
                for position, budget in enumerate(tenant.budgets)])
        previous = {user.user_id: user for user in (before.users if before else ())}
        summary["users_added"] += sum(
            1 for user in tenant.users if user.user_id not in previous or previous[user.user_id].active_until is not None)
        if tenant.users:
            # Users of a tenant's first import count since always; later additions from the import day.
            active_from = today.isoformat() if before else None
            con.execute(_q("user_upsert"), [
                {**key, "user_id": user.user_id, "name": user.name, "email": user.email, "phone": user.phone,
                 "role": user.role, "active_from": active_from} for user in tenant.users])
        listed = {user.user_id for user in tenant.users}
        for user_id, user in previous.items():
            if user_id not in listed and user.active_until is None:
                con.execute(_q("user_deactivate"), {**key, "user_id": user_id, "today": today.isoformat()})
                summary["users_removed"] += 1

    def set_budgets(self, tenant_id: str, budgets: list[Budget]) -> None:
        """Replace a tenant's budgets (until the next directory import states them again)."""
        self.tenant(tenant_id)
        with self.engine.begin() as con:
            con.execute(_q("budgets_delete"), {"tenant_id": tenant_id})
            if budgets:
                con.execute(_q("budget_insert"), [
                    {"tenant_id": tenant_id, "position": position, "amount_usd": str(budget.amount_usd),
                     "channels": ",".join(budget.channels)} for position, budget in enumerate(budgets)])

    def set_payment_method(self, tenant_id: str, method_type: str, stripe_payment_method: str | None) -> Tenant:
        """Replace a tenant's payment method, within the directory's rules (until the next import)."""
        tenant = replace(self.tenant(tenant_id), payment_method_type=method_type, stripe_payment_method=stripe_payment_method)
        check_payment_method(tenant)
        with self.engine.begin() as con:
            con.execute(_q("tenant_set_payment_method"), {"tenant_id": tenant_id, "type": method_type,
                                                          "stripe_payment_method": stripe_payment_method, "now": _now()})
        return tenant

    def tenants(self) -> list[Tenant]:
        try:
            with self.engine.connect() as con:
                return self._tenants(con)
        except SQLAlchemyError as error:
            raise BillingError(f"ledger: {_first_line(error)} (run 'billing tenants import FILE' first)") from None

    def tenant(self, tenant_id: str) -> Tenant:
        for tenant in self.tenants():
            if tenant.tenant_id == tenant_id:
                return tenant
        raise BillingError(f"unknown tenant {tenant_id!r}")

    def _tenants(self, con: Connection) -> list[Tenant]:
        changes: dict[str, list] = {}
        for row in con.execute(_q("plan_changes_all")):
            changes.setdefault(row.tenant_id, []).append((date.fromisoformat(row.effective), row.plan))
        budgets: dict[str, list] = {}
        for row in con.execute(_q("budgets_all")):
            budgets.setdefault(row.tenant_id, []).append(Budget(Decimal(row.amount_usd), tuple(row.channels.split(","))))
        users: dict[str, list] = {}
        for row in con.execute(_q("users_all")):
            users.setdefault(row.tenant_id, []).append(User(
                row.user_id, row.name, row.email, row.role, row.phone,
                _date(row.active_from), _date(row.active_until),
            ))
        return [
            Tenant(
                tenant_id=row.tenant_id, name=row.name, country=row.country, plan=row.plan,
                plan_changes=tuple(changes.get(row.tenant_id, ())),
                contract_monthly_fee=Decimal(row.contract_monthly_fee) if row.contract_monthly_fee else None,
                tax_rate=Decimal(row.tax_rate), payment_method_type=row.payment_method_type,
                stripe_payment_method=row.stripe_payment_method, tax_id=row.tax_id,
                budgets=tuple(budgets.get(row.tenant_id, ())), users=tuple(users.get(row.tenant_id, ())),
            )
            for row in con.execute(_q("tenants_all"))
        ]


def _sqlite_foreign_keys(connection, _record) -> None:
    """SQLite checks REFERENCES only when asked, once per connection; PostgreSQL always does."""
    connection.execute("PRAGMA foreign_keys = ON")


def _as_directory(tenant: Tenant) -> Tenant:
    """The tenant as the directory file states it: current users only, without membership dates."""
    current = tuple(
        replace(user, active_from=None, active_until=None) for user in tenant.users if user.active_until is None
    )
    return replace(tenant, users=tuple(sorted(current, key=lambda user: user.user_id)))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
