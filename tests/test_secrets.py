"""No secret in an error, a log line or Dagster's event log (issue 13, item 5)."""
import dagster as dg
import pytest

from assets.ingest import usage_events
from billing.ledger import Ledger
from billing.settings import BillingError, mask_url
from resources import BillingStore
from tests.conftest import tenant, write_directory
from tests.test_cli import billing, fails

PASSWORD = "S3cr3t-pw"
BAD_LEDGER_URLS = [
    f"postgresql+psycopg2://billing:{PASSWORD}@127.0.0.1:1/ledger",  # nothing listens: the driver's error
    f"postgresql+psycopg2://billing:{PASSWORD}@127.0.0.1:notaport/ledger",  # SQLAlchemy cannot parse it
    f"nosuchdriver://billing:{PASSWORD}@db.internal/ledger",  # no such dialect
    f"postgresql://billing:{PASSWORD}@with@at/ledger",  # an @ in the password, not percent-encoded
    f"postgresql+psycopg2://127.0.0.1:1/ledger?user=billing&password={PASSWORD}",  # the password as a parameter
]


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg2://billing:pw@db:5432/ledger", "postgresql+psycopg2://billing:***@db:5432/ledger"),
    ("postgresql://billing:p@ss/w:rd@db/ledger", "postgresql://billing:***@db/ledger"),
    ("postgresql://db/ledger?sslmode=require&password=pw", "postgresql://db/ledger?sslmode=require&password=***"),
    ("sqlite:////var/lib/billing/ledger.sqlite", "sqlite:////var/lib/billing/ledger.sqlite"),
])
def test_a_url_is_shown_without_its_password(url, shown):
    assert mask_url(url) == shown


@pytest.mark.parametrize("url", BAD_LEDGER_URLS)
def test_a_bad_ledger_url_is_named_without_its_password(url):
    with pytest.raises(BillingError) as error:
        Ledger(url).migrate()
    assert PASSWORD not in str(error.value) and "***" in str(error.value)


@pytest.mark.parametrize("url", BAD_LEDGER_URLS)
def test_the_command_line_never_prints_the_password(tmp_path, url):
    home = tmp_path / "home"
    directory = write_directory(tmp_path / "d.yaml", [tenant("acme")])
    message = fails("tenants", "import", str(directory), home=home, BILLING_LEDGER_URL=url)
    assert message.startswith("billing: error: ledger") and PASSWORD not in message


def test_the_close_never_prints_the_password(tmp_path):
    for url in BAD_LEDGER_URLS[:2]:
        closing = billing("close", "--month", "2026-10", home=tmp_path / "home", BILLING_LEDGER_URL=url)
        assert closing.returncode == 1 and PASSWORD not in closing.stderr + closing.stdout


def test_a_run_that_fails_on_the_ledger_keeps_the_password_out_of_the_event_log(billing_home, monkeypatch):
    monkeypatch.setenv("BILLING_LEDGER_URL", BAD_LEDGER_URLS[1])  # the one SQLAlchemy cannot parse
    (billing_home / "snapshots").mkdir(parents=True)
    with dg.instance_for_test() as instance:
        result = dg.materialize([usage_events], partition_key="2026-10-01", resources={"billing": BillingStore()},
                                instance=instance, raise_on_error=False)
        assert not result.success
        logged = [str(record) for record in instance.all_logs(result.run_id)]
    assert any("billing:***@127.0.0.1:notaport/ledger" in record for record in logged)
    assert not any(PASSWORD in record for record in logged)
