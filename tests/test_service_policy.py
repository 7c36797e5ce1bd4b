"""The seed's permissions, enforced by the Billing Service in one place (billing/service/policy.py): the table
equals the seed's cell for cell; every route has a rule; every role x endpoint x own/other tenant answers the
status code contract section 6 gives, over HTTP against `billing serve` on loopback."""
from pathlib import Path

import pytest
from fastapi import APIRouter

from billing.service import policy
from billing.settings import Settings
from tests.service_fixtures import API, billing_service, service_home, tokens, api  # noqa: F401 - fixtures

# The seed's Permissions table (../shared/seed/billing-and-invoicing.md), verbatim.
SEED_TABLE = """| Action | Platform Admin | Tenant Admin | Billing Contact |
|---|---|---|---|
| View usage | Yes | Own tenant | Own tenant |
| View invoices | All | Own tenant | Own tenant |
| Update plan | Yes | Request | No |
| Manage payment | Yes | Yes | Yes |
| Set budget alerts | Yes | Yes | Yes |"""
SEED_FILE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "billing-and-invoicing.md"


def parse_table(text: str) -> dict[str, tuple[str, ...]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.strip().splitlines()]
    header, body = rows[0], rows[2:]
    assert header == ["Action", "Platform Admin", "Tenant Admin", "Billing Contact"]
    return {row[0]: tuple(row[1:]) for row in body}


def test_the_policy_table_is_the_seeds_table_cell_for_cell():
    if SEED_FILE.exists():  # the copy above is the seed's own text
        assert SEED_TABLE in SEED_FILE.read_text()
    assert policy.COLUMNS == ("platform_admin", "tenant_admin", "billing_contact")
    assert policy.PERMISSIONS == parse_table(SEED_TABLE)
    # What the service adds is operators' work: no tenant role gets anything from it.
    assert all(cells[1:] == ("No", "No") for cells in policy.OPERATOR_PERMISSIONS.values())
    assert set(policy.POLICY) == set(policy.PERMISSIONS) | set(policy.OPERATOR_PERMISSIONS)


def test_every_route_has_a_rule_and_every_rule_a_route(billing_service, api):
    paths = api.get(f"{API}/openapi.json").json()["paths"]
    served = {(method.upper(), path.removeprefix(API)) for path, item in paths.items() for method in item}
    assert served == set(policy.ROUTES)


def test_a_route_added_without_a_rule_stops_the_service_from_starting(billing_home):
    from billing.service.app import create_app

    extra = APIRouter()

    @extra.get("/tenants/{tenant_id}/secrets")
    def secrets(tenant_id: str):
        return {"tenant_id": tenant_id}

    create_app(Settings.from_env())  # starts without it
    with pytest.raises(RuntimeError, match=r"GET /api/v1/tenants/\{tenant_id\}/secrets"):
        create_app(Settings.from_env(), extra_routers=(extra,))


ROLES = ("platform_admin", "tenant_admin", "billing_contact", "member", "no_token", "bad_token")
# (own tenant, other tenant) per role: written out by hand from the seed's table and contract section 6.
READ = dict(platform_admin=(200, 200), tenant_admin=(200, 404), billing_contact=(200, 404), member=(403, 404),
            no_token=(401, 401), bad_token=(401, 401))
ENDPOINTS = {
    "plan": ("GET", "/tenants/{t}/plan", READ),
    "usage": ("GET", "/tenants/{t}/usage?month=2026-11", READ),
    "usage daily": ("GET", "/tenants/{t}/usage/daily?month=2026-11", READ),
    "costs": ("GET", "/tenants/{t}/costs?month=2026-10", READ),
    "invoices": ("GET", "/tenants/{t}/invoices", READ),
    "invoice": ("GET", "/tenants/{t}/invoices/{invoice}", READ),
    "invoice pdf": ("GET", "/tenants/{t}/invoices/{invoice}/pdf", READ),
}
OWN, OTHER = "acme", "beta"


def headers_for(role: str, tokens) -> dict:
    if role == "platform_admin":
        return tokens.platform_admin()
    if role == "no_token":
        return {}
    if role == "bad_token":  # signed by another key
        from billing.service.identity import IdentityConfig, mint_token

        other = IdentityConfig(None, tokens.config.issuer, tokens.config.audience, tokens.config.key_file.with_name("x.pem"))
        return {"Authorization": f"Bearer {mint_token(other, f'{OWN}-tenant_admin')[0]}"}
    return tokens.user(f"{OWN}-{role}")


@pytest.fixture(scope="module")
def invoices_by_tenant(billing_service, tokens):
    import httpx

    admin = tokens.platform_admin()
    return {t: next(i["invoice_number"] for i in httpx.get(f"{billing_service.url}{API}/tenants/{t}/invoices",
                                                          headers=admin).json() if i["period"] == "2026-10")
            for t in (OWN, OTHER)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("whose", ["own", "other"])
def test_every_cell_answers_its_status_code(role, endpoint, whose, api, tokens, invoices_by_tenant):
    method, path, expected = ENDPOINTS[endpoint]
    tenant_id = OWN if whose == "own" else OTHER
    url = API + path.format(t=tenant_id, invoice=invoices_by_tenant[tenant_id])
    response = api.request(method, url, headers=headers_for(role, tokens))
    assert response.status_code == expected[role][whose == "other"], response.text
    if response.status_code >= 400:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == response.status_code and "\n" not in problem["detail"] and problem["detail"]


@pytest.mark.parametrize("role, status, listed", [
    ("platform_admin", 200, ["acme", "beta", "big"]), ("tenant_admin", 200, ["acme"]), ("billing_contact", 200, ["acme"]),
    ("member", 403, None), ("no_token", 401, None), ("bad_token", 401, None)])
def test_the_tenant_list_shows_what_the_caller_may_see(role, status, listed, api, tokens):
    response = api.get(f"{API}/tenants", headers=headers_for(role, tokens))
    assert response.status_code == status
    if listed:
        assert [t["tenant_id"] for t in response.json()] == listed


def test_an_invoice_of_another_tenant_is_not_found_under_ones_own(api, tokens, invoices_by_tenant):
    response = api.get(f"{API}/tenants/{OWN}/invoices/{invoices_by_tenant[OTHER]}", headers=tokens.user(f"{OWN}-tenant_admin"))
    assert response.status_code == 404
    admin = api.get(f"{API}/tenants/{OWN}/invoices/{invoices_by_tenant[OTHER]}", headers=tokens.platform_admin())
    assert admin.status_code == 404  # the query takes the tenant: even a platform admin reads it under its tenant


def test_an_unknown_tenant_is_not_found_for_everyone(api, tokens):
    assert api.get(f"{API}/tenants/nobody/plan", headers=tokens.platform_admin()).status_code == 404
    assert api.get(f"{API}/tenants/nobody/plan", headers=tokens.user(f"{OWN}-tenant_admin")).status_code == 404
