"""The Billing Service on a PostgreSQL ledger: reads scoped to the tenant, a plan change through the API and
a later directory import that keeps it (the same as on SQLite, tests/test_service_writes.py)."""
import httpx

from billing.directory import load_directory
from billing.ledger import Ledger
from tests.conftest import Metering, tenant, write_directory
from tests.service_fixtures import API, BillingService, Tokens, people


def test_plan_change_on_postgresql_survives_a_directory_import(tmp_path, postgres_url):
    home = tmp_path / "billing"
    directory = write_directory(tmp_path / "directory.yaml", [tenant("acme", plan="starter", users=people("acme")),
                                                              tenant("beta", users=people("beta"))])
    Ledger(postgres_url).import_directory(load_directory(directory), Metering(home).settings.today())
    server = BillingService(home, BILLING_LEDGER_URL=postgres_url).start()
    tokens = Tokens(home)
    try:
        with httpx.Client(base_url=server.url + API, timeout=60) as client:
            assert client.get("/tenants/beta/plan", headers=tokens.user("acme-tenant_admin")).status_code == 404
            changed = client.put("/tenants/acme/plan", headers=tokens.platform_admin(),
                                 json={"plan": "professional", "effective": "2026-12-01"})
            assert changed.status_code == 200, changed.text
            summary = Ledger(postgres_url).import_directory(load_directory(directory), Metering(home).settings.today())
            assert summary["api_plan_changes_kept"] == 1 and summary["tenants_unchanged"] == 2
            plan = client.get("/tenants/acme/plan", headers=tokens.user("acme-billing_contact")).json()
            assert plan["plan_changes"] == [{"effective": "2026-12-01", "plan": "professional"}]
            [entry] = client.get("/tenants/acme/audit", headers=tokens.platform_admin()).json()
            assert entry["event"] == "plan_changed" and entry["before"] == {"plan_changes": []}
    finally:
        server.stop()
