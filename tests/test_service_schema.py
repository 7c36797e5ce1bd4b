"""schemathesis against the Billing Service's OpenAPI document, over HTTP on loopback, bounded in time: no
5xx, every response matches its documented status, content type and schema, and every operation called
without a token is refused with 401."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.service_fixtures import API, BillingService, Tokens, seed

EXAMPLES = 12  # per operation: ~25 operations in about a minute


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz") / "billing"
    seed(home)
    server = BillingService(home).start()
    yield server, Tokens(home)
    server.stop()


def _openapi_document() -> dict:
    """The document the service serves, read when the module is collected (schemathesis needs it then) from an
    app on an empty BILLING_HOME; the test checks that the running service serves the same one."""
    import tempfile

    from billing.service.app import create_app
    from billing.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        return create_app(Settings.from_env({"BILLING_HOME": home})).openapi()


DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_service_serves_that_document(fuzzed):
    import httpx

    server, _ = fuzzed
    assert httpx.get(f"{server.url}{API}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_openapi_document(case, fuzzed):
    server, tokens = fuzzed
    # A request the schema allows may still break a business rule (a plan change dated in a closed month): 422.
    case.call_and_validate(base_url=server.url, headers=tokens.platform_admin(),
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if case.method.upper() != case.operation.method.upper():  # a method the path does not have: 405 first
        return
    anonymous = case.call(base_url=server.url)
    assert anonymous.status_code == 401, f"{case.method} {case.formatted_path} answered {anonymous.status_code} without a token"
    assert anonymous.headers["content-type"] == ["application/problem+json"]
