"""The ledger's directory import, on SQLite and on a real PostgreSQL."""
from datetime import date

import pytest
import sqlalchemy as sa

from billing.directory import parse_directory
from billing.ledger import Ledger
from billing.settings import BillingError
from tests.conftest import TODAY, tenant

import yaml


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    return Ledger(request.getfixturevalue("postgres_url"))


def directory(*tenants):
    return parse_directory(yaml.safe_dump({"tenants": list(tenants)}))


def users(*ids):
    return [{"user_id": i, "name": i.upper(), "email": f"{i}@x.io", "role": "member"} for i in ids]


def count(ledger, table):
    with ledger.engine.connect() as con:
        return con.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()


def test_import_then_reimport_updates_and_never_duplicates(ledger):
    first = directory(tenant("acme", users=users("u1", "u2"), budgets=[{"amount_usd": 600, "channels": ["email"]}]),
                      tenant("beta", plan="starter"))
    assert ledger.import_directory(first, today=date(2026, 10, 5)) == {
        "tenants_added": 2, "tenants_updated": 0, "tenants_unchanged": 0, "users_added": 3, "users_removed": 0}
    assert ledger.import_directory(first, today=date(2026, 10, 6))["tenants_unchanged"] == 2
    assert (count(ledger, "tenants"), count(ledger, "users"), count(ledger, "budgets")) == (2, 3, 1)

    changed = directory(tenant("acme", plan="starter", tax_rate=0.2, users=users("u2", "u3")), tenant("beta", plan="starter"))
    summary = ledger.import_directory(changed, today=date(2026, 11, 10))
    assert summary == {"tenants_added": 0, "tenants_updated": 1, "tenants_unchanged": 1, "users_added": 1, "users_removed": 1}
    acme = ledger.tenant("acme")
    assert (acme.plan, str(acme.tax_rate), acme.budgets) == ("starter", "0.2", ())
    assert (count(ledger, "tenants"), count(ledger, "users")) == (2, 4)
    # Seats: u1 left on 11-10, u3 came on 11-10; October had u1 and u2, November all three, December two.
    assert [acme.seats("2026-10"), acme.seats("2026-11"), acme.seats("2026-12")] == [2, 3, 2]


def test_money_and_dates_round_trip_exactly(ledger):
    ledger.import_directory(directory(tenant("big", plan="enterprise", contract_monthly_fee="12345.67", tax_rate="0.075",
                                             plan_changes=[{"plan": "enterprise", "effective": "2026-02-01"}])), TODAY)
    big = ledger.tenant("big")
    assert (str(big.contract_monthly_fee), str(big.tax_rate), big.plan_changes) == (
        "12345.67", "0.075", ((date(2026, 2, 1), "enterprise"),))


def test_failed_import_writes_nothing(ledger, monkeypatch):
    ledger.import_directory(directory(tenant("acme")), TODAY)
    broken = directory(tenant("acme", name="Renamed"), tenant("beta"))
    original = ledger._write_tenant

    def fail_on_beta(con, tenant, *args):
        if tenant.tenant_id == "beta":
            raise sa.exc.OperationalError("insert", {}, Exception("disk full"))
        original(con, tenant, *args)

    monkeypatch.setattr(ledger, "_write_tenant", fail_on_beta)
    with pytest.raises(sa.exc.OperationalError):
        ledger.import_directory(broken, TODAY)
    assert [t.name for t in ledger.tenants()] == ["acme Inc"]


def test_migrations_apply_once(ledger):
    assert ledger.migrate() == ["0001_directory", "0002_invoices", "0003_alerts", "0004_payments", "0005_service", "0006_page"]
    assert ledger.migrate() == []


def test_unknown_tenant_and_unreachable_ledger_are_one_line_errors(ledger, tmp_path):
    ledger.migrate()
    with pytest.raises(BillingError, match="unknown tenant 'nope'"):
        ledger.tenant("nope")
    with pytest.raises(BillingError, match="ledger"):
        Ledger("postgresql+psycopg2://nobody@127.0.0.1:1/none").migrate()
