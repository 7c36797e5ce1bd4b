"""`billing doctor` checks every configured part against real servers: PostgreSQL (ledger and Dagster), S3, SES and
SNS on moto, Stripe on localstripe; one line per part, and what to do for each that fails."""
import json
import shutil

import boto3
import pytest
from sqlalchemy.engine import make_url

from billing.cli import main
from billing.ledger import MIGRATIONS, Ledger
from billing.directory import load_directory
from tests.conftest import TODAY, tenant, write_directory

SENDER = "billing@acme.example"


@pytest.fixture
def production(billing_home, s3, moto_server, postgres_url, localstripe_server, tmp_path, monkeypatch):
    """Everything on a server: the ledger and Dagster in PostgreSQL, snapshots and PDFs in S3, SES/SNS, Stripe."""
    s3.create_bucket(Bucket="snapshots")
    s3.put_object(Bucket="snapshots", Key="usage/dt=2026-11-28/part-0000.csv", Body=b"event_id\n")
    s3.create_bucket(Bucket="documents")
    boto3.client("ses", endpoint_url=moto_server.url).verify_email_identity(EmailAddress=SENDER)
    url = make_url(postgres_url)
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy("deploy/dagster.yaml", dagster_home / "dagster.yaml")
    for name, value in {
        "BILLING_LEDGER_URL": postgres_url, "BILLING_SNAPSHOT_ROOT": "s3://snapshots/usage",
        "BILLING_OBJECT_STORE": "s3://documents/invoices", "BILLING_ALERT_TRANSPORT": "aws",
        "BILLING_ALERT_SENDER": SENDER, "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": url.host, "DAGSTER_PG_PORT": str(url.port), "DAGSTER_PG_DB": url.database,
        "DAGSTER_PG_USERNAME": url.username, "DAGSTER_PG_PASSWORD": "",
        "STRIPE_API_KEY": "sk_test_billing", "STRIPE_API_BASE": localstripe_server.url,
    }.items():
        monkeypatch.setenv(name, value)
    Ledger(postgres_url).import_directory(load_directory(write_directory(tmp_path / "d.yaml", [tenant("acme")])), TODAY)
    return monkeypatch


def doctor(capsys) -> tuple[int, dict[str, dict], str]:
    code = main(["doctor", "--json"])
    out, err = capsys.readouterr()
    return code, {check["part"]: check for check in json.loads(out)}, err


def test_every_part_is_checked_and_passes_on_a_working_server(production, capsys):
    code, checks, _ = doctor(capsys)
    assert code == 0
    assert {part: check["status"] for part, check in checks.items()} == {
        "billing home": "ok", "ledger": "ok", "dagster database": "ok", "snapshot root": "ok", "object store": "ok",
        "ses (email)": "ok", "sns (sms)": "ok", "stripe": "ok"}
    assert checks["ledger"]["found"].endswith("migrated, 1 tenants")
    assert checks["dagster database"]["found"].startswith("Postgres storage")
    assert checks["snapshot root"]["found"] == "s3://snapshots/usage: readable, 1 days, 2026-11-28 to 2026-11-28"
    assert checks["ses (email)"]["found"] == f"sender {SENDER} verified ({SENDER})"
    main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[0].startswith("ok   billing home")


def test_each_broken_part_fails_with_what_to_do(production, postgres_server, moto_server, capsys):
    production.setenv("BILLING_ALERT_SENDER", "someone@elsewhere.example")          # not verified in SES
    production.setenv("STRIPE_API_KEY", "pk_test_a_publishable_key")               # not a secret key
    production.setenv("BILLING_OBJECT_STORE", "s3://no-such-bucket/invoices")
    production.setenv("BILLING_SNAPSHOT_ROOT", "s3://snapshots/nothing-here")
    production.setenv("DAGSTER_PG_DB", "no_such_database")
    code, checks, err = doctor(capsys)
    assert code == 1
    assert err == "billing: error: 5 of 8 parts failed: dagster database, snapshot root, object store, ses (email), stripe\n"
    assert "not verified in SES" in checks["ses (email)"]["found"]
    assert "aws ses verify-email-identity --email-address someone@elsewhere.example" in checks["ses (email)"]["fix"]
    assert "Unauthorized" in checks["stripe"]["found"] or "Invalid API Key" in checks["stripe"]["found"]
    assert "no_such_database" in checks["dagster database"]["found"]
    assert "NoSuchBucket" in checks["object store"]["found"]
    assert checks["snapshot root"]["fix"].startswith("create it")
    assert {check["status"] for part, check in checks.items() if part in ("ledger", "sns (sms)", "billing home")} == {"ok"}


def test_an_unmigrated_or_unreachable_ledger_says_so(production, postgres_server, capsys):
    empty = postgres_server.url("postgres")
    production.setenv("BILLING_LEDGER_URL", empty)
    _, checks, _ = doctor(capsys)
    migrations = len(list(MIGRATIONS.glob("*.sql")))
    assert f"reachable, {migrations} migrations not applied (0001_directory" in checks["ledger"]["found"]
    assert "'billing tenants import DIRECTORY.yaml'" in checks["ledger"]["fix"]
    production.setenv("BILLING_LEDGER_URL", postgres_server.url("no_such_ledger"))
    _, checks, _ = doctor(capsys)
    assert checks["ledger"]["status"] == "fail" and "no_such_ledger" in checks["ledger"]["found"]
    assert checks["ledger"]["fix"].startswith("create the database")
