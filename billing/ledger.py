"""The billing ledger: SQLite under BILLING_HOME by default, PostgreSQL through BILLING_LEDGER_URL.

The schema is versioned SQL in sql/ledger/migrations, applied in order and recorded in schema_migrations.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from billing.crash import crash_point
from billing.directory import Budget, Membership, Tenant, User, check_payment_method
from billing.settings import BillingError, mask_url, without_url_secrets
from billing.sql import SQL_DIR, query, statements

MIGRATIONS = SQL_DIR / "ledger" / "migrations"
MIGRATION_LOCK_KEY = 7_311_204  # PostgreSQL advisory lock of ledger migrations (any constant of our own)
CREATE_WITHOUT_GUARD = re.compile(r"^(\s*CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+)(?!IF\s+NOT\s+EXISTS)",
                                  re.IGNORECASE | re.MULTILINE)


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
            raise BillingError(f"ledger URL {mask_url(url)}: {self._error(error)}") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_foreign_keys)

    def _error(self, error: Exception) -> str:
        """A driver's error as it may be shown: its first line, without the URL's password."""
        return without_url_secrets(_first_line(error), self.url)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, all in one transaction; return their versions.

        Atomic on both databases: a crash leaves the ledger as it was before, and the next command applies
        them again. SQLite gets an explicit BEGIN IMMEDIATE (pysqlite would otherwise commit each CREATE by
        itself), which also makes a second process wait for the first; PostgreSQL takes an advisory lock.
        """
        applied_now = []
        try:
            with self.engine.connect() as con:
                if not _migrations_to_apply(con):  # the usual case: one read, no lock
                    return []
            with self._migration_transaction() as con:
                con.execute(_q("schema_migrations_create"))
                for path in _migrations_to_apply(con):  # again: another process may have applied them meanwhile
                    for number, statement in enumerate(statements(f"ledger/migrations/{path.stem}"), 1):
                        con.exec_driver_sql(_if_not_exists(statement))
                        crash_point(f"migration {path.stem} statement {number}")
                    con.execute(_q("schema_migrations_record"), {"version": path.stem, "applied_at": _now()})
                    applied_now.append(path.stem)
        except SQLAlchemyError as error:
            raise BillingError(f"ledger {mask_url(self.url)}: {self._error(error)}") from None
        return applied_now

    @contextmanager
    def _migration_transaction(self) -> Iterator[Connection]:
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as con:
                con.execute(_q("schema_migrations_lock"), {"key": MIGRATION_LOCK_KEY})
                yield con
            return
        # AUTOCOMMIT hands the transaction to us: pysqlite then sends no BEGIN or COMMIT of its own.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
            con.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.exec_driver_sql("ROLLBACK")
                raise
            con.exec_driver_sql("COMMIT")

    def import_directory(self, tenants: list[Tenant], today: date) -> dict[str, int]:
        """Insert or update every tenant in one transaction; return counts of what changed. `today` dates the
        membership of users added or removed by this import."""
        self.migrate()
        summary = {"tenants_added": 0, "tenants_updated": 0, "tenants_unchanged": 0, "users_added": 0, "users_removed": 0}
        with self.engine.begin() as con:
            existing = {tenant.tenant_id: tenant for tenant in self._tenants(con)}
            from_api: dict[str, dict[date, str]] = {}
            for row in con.execute(_q("plan_changes_from_api")):
                from_api.setdefault(row.tenant_id, {})[date.fromisoformat(row.effective)] = row.plan
            for tenant in tenants:
                if tenant.tenant_id in from_api:
                    tenant = _keep_api_plan_changes(tenant, from_api[tenant.tenant_id])
                    summary["api_plan_changes_kept"] = summary.get("api_plan_changes_kept", 0) + len(from_api[tenant.tenant_id])
                before = existing.get(tenant.tenant_id)
                if before is None:
                    summary["tenants_added"] += 1
                elif _as_directory(before) == _as_directory(tenant):
                    summary["tenants_unchanged"] += 1
                    continue
                else:
                    summary["tenants_updated"] += 1
                self._write_tenant(con, tenant, before, today, summary, from_api.get(tenant.tenant_id, {}))
        return summary

    def _write_tenant(self, con: Connection, tenant: Tenant, before: Tenant | None, today: date, summary: dict,
                      from_api: dict[date, str]) -> None:
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
                {**key, "effective": effective.isoformat(), "plan": plan,
                 "source": "api" if from_api.get(effective) == plan else "directory"}
                for effective, plan in tenant.plan_changes])
        con.execute(_q("budgets_delete"), key)
        if tenant.budgets:
            con.execute(_q("budget_insert"), [
                {**key, "position": position, "amount_usd": str(budget.amount_usd), "channels": ",".join(budget.channels)}
                for position, budget in enumerate(tenant.budgets)])
        previous = {user.user_id: user for user in (before.users if before else ())}
        if tenant.users:
            con.execute(_q("user_upsert"), [
                {**key, "user_id": user.user_id, "name": user.name, "email": user.email, "phone": user.phone,
                 "role": user.role} for user in tenant.users])
        arriving = [user.user_id for user in tenant.users
                    if user.user_id not in previous or not previous[user.user_id].current]
        if arriving:
            # Users of a tenant's first import count since always; later arrivals (returns too) from the import day.
            active_from = today.isoformat() if before else None
            con.execute(_q("membership_open"), [
                {**key, "user_id": user_id, "active_from": active_from} for user_id in arriving])
        summary["users_added"] += len(arriving)
        listed = {user.user_id for user in tenant.users}
        for user_id, user in previous.items():
            if user_id not in listed and user.current:
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
            raise BillingError(f"ledger: {self._error(error)} (run 'billing tenants import FILE' first)") from None

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.find_tenant(tenant_id)
        if tenant is None:
            raise BillingError(f"unknown tenant {tenant_id!r}")
        return tenant

    def find_tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, read by queries that take its id; None when there is no such tenant."""
        try:
            with self.engine.connect() as con:
                found = self._tenants(con, tenant_id)
        except SQLAlchemyError as error:
            raise BillingError(f"ledger: {_first_line(error)} (run 'billing tenants import FILE' first)") from None
        return found[0] if found else None

    def _tenants(self, con: Connection, tenant_id: str | None = None) -> list[Tenant]:
        """Every tenant, or the one of `tenant_id` (queries *_of_tenant, which take the id)."""
        def rows(every: str, of_tenant: str):
            return con.execute(_q(every)) if tenant_id is None else con.execute(_q(of_tenant), {"tenant_id": tenant_id})

        changes: dict[str, list] = {}
        for row in rows("plan_changes_all", "plan_changes_of_tenant"):
            changes.setdefault(row.tenant_id, []).append((date.fromisoformat(row.effective), row.plan))
        budgets: dict[str, list] = {}
        for row in rows("budgets_all", "budgets_of_tenant"):
            budgets.setdefault(row.tenant_id, []).append(Budget(Decimal(row.amount_usd), tuple(row.channels.split(","))))
        memberships: dict[tuple[str, str], list] = {}
        for row in rows("memberships_all", "memberships_of_tenant"):
            memberships.setdefault((row.tenant_id, row.user_id), []).append(
                Membership(_date(row.active_from), _date(row.active_until)))
        users: dict[str, list] = {}
        for row in rows("users_all", "users_of_tenant"):
            users.setdefault(row.tenant_id, []).append(User(
                row.user_id, row.name, row.email, row.role, row.phone,
                tuple(memberships[(row.tenant_id, row.user_id)]),
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
            for row in rows("tenants_all", "tenant_one")
        ]


def _migrations_to_apply(con: Connection) -> list[Path]:
    done = set()
    if sa.inspect(con).has_table("schema_migrations"):
        done = {row.version for row in con.execute(_q("schema_migrations_applied"))}
    return [path for path in sorted(MIGRATIONS.glob("*.sql")) if path.stem not in done]


def _if_not_exists(statement: str) -> str:
    """CREATE TABLE / INDEX as IF NOT EXISTS: a migration half applied by a version before migrations were
    atomic (its CREATEs committed, the rest lost) is finished rather than failing on "already exists"."""
    return CREATE_WITHOUT_GUARD.sub(r"\1IF NOT EXISTS ", statement, count=1)


def _keep_api_plan_changes(tenant: Tenant, from_api: dict[date, str]) -> Tenant:
    """The directory's plan timeline with the changes made through the API, which win on the same day: an
    import never undoes them silently (it counts them as api_plan_changes_kept). The payment rules are
    checked again on the timeline that results."""
    merged = replace(tenant, plan_changes=tuple(sorted({**dict(tenant.plan_changes), **from_api}.items())))
    check_payment_method(merged)
    return merged


def _sqlite_foreign_keys(connection, _record) -> None:
    """SQLite checks REFERENCES only when asked, once per connection; PostgreSQL always does."""
    connection.execute("PRAGMA foreign_keys = ON")


def _as_directory(tenant: Tenant) -> Tenant:
    """The tenant as the directory file states it: current users only, without membership dates."""
    current = tuple(replace(user, memberships=(Membership(),)) for user in tenant.users if user.current)
    return replace(tenant, users=tuple(sorted(current, key=lambda user: user.user_id)))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _first_line(error: Exception) -> str:
    return (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[0]
