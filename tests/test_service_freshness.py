"""The close writes while `billing serve` runs, and the service's next answers show what it wrote: the DuckDB
sessions and the copies of closed months each worker keeps between requests (billing/warehouse_reader.py) hold
no lock that stops a write, and are never stale."""
import httpx

from tests.conftest import Metering, event, tenant
from tests.service_fixtures import API, BillingService, Tokens, people
from tests.test_warehouse_reader import store_month


def test_the_close_ingests_and_aggregates_while_the_service_reads(tmp_path):
    home = tmp_path / "billing"
    metering = Metering(home)
    metering.import_tenants(tenant("acme", users=people("acme")))
    metering.write("2026-10-15", [event("o1", "2026-10-15T10:00:00Z", quantity="1000", user_id="acme-member")])
    metering.write("2026-11-02", [event("n1", "2026-11-02T10:00:00Z", quantity="500", user_id="acme-member")])
    metering.ingest("2026-10-15", "2026-11-02")
    store_month(metering, "2026-10")
    server = BillingService(home).start()
    headers = Tokens(home).user("acme-tenant_admin")

    def tokens(month: str) -> int:
        response = httpx.get(f"{server.url}{API}/tenants/acme/usage?month={month}", headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["llm_tokens"]["used"]

    try:
        assert (tokens("2026-10"), tokens("2026-11")) == (1000, 500)
        # The next day's folder, with an October event that came late
        metering.write("2026-11-03", [event("n2", "2026-11-03T10:00:00Z", quantity="700", user_id="acme-member"),
                                      event("late", "2026-10-31T23:00:00Z", quantity="50", user_id="acme-member")])
        metering.ingest("2026-11-03")
        assert tokens("2026-11") == 1200
        assert tokens("2026-10") == 1000  # what October was billed on, until the close runs again
        store_month(metering, "2026-10")
        assert tokens("2026-10") == 1050
    finally:
        server.stop()
