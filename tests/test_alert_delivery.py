"""Alert emails that fail are not silent: the close counts them, the usage_alerts asset warns with the reason and
what to do, and the operators are told once (SES on moto, with the sender not verified)."""
import json
import urllib.request

import boto3
import dagster as dg
import pytest

from assets.alert import undelivered_alerts_sensor
from billing.settings import BillingError
from billing_jobs.runner import close_month, local_instance
from resources import BillingStore
from tests.conftest import Metering, event, tenant

SENDER, OPERATORS = "billing@acme.example", "ops@acme.example"


@pytest.fixture
def unverified_sender(billing_home, s3, monkeypatch):
    for name, value in {"BILLING_ALERT_TRANSPORT": "aws", "BILLING_ALERT_SENDER": SENDER,
                        "BILLING_OPERATOR_EMAIL": OPERATORS}.items():
        monkeypatch.setenv(name, value)
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter"))
    # 10,500 queries of the starter plan's 10,000: 80 %, 95 % and overage fire at once, only overage is sent
    metering.write("2026-10-15", [event("q1", "2026-10-15T10:00:00Z", "acme", "sql_queries", "10500")])
    return metering


def sent_emails(moto_url: str) -> list[dict]:
    data = json.loads(urllib.request.urlopen(f"{moto_url}/moto-api/data.json").read())
    return data["ses"]["Message"]


def test_the_close_counts_failing_deliveries_and_the_asset_says_why(unverified_sender):
    from billing.settings import Settings

    closed = close_month(Settings.from_env(), "2026-10")
    assert closed["alerts_fired"] == 1
    # the overage email, tried in this run, waits (no Stripe key: the card invoice is never overdue, no notice)
    assert closed["alert_deliveries"] == {"sent": 0, "retrying": 1, "failed": 0, "undelivered": 1}
    instance = local_instance(Settings.from_env())
    metadata = instance.get_latest_materialization_event(dg.AssetKey("usage_alerts")).asset_materialization.metadata
    assert metadata["undelivered"].value == 1
    why = metadata["undelivered why"].value
    assert "1 email deliveries pending: An error occurred (MessageRejected)" in why
    assert "verify BILLING_ALERT_SENDER in SES" in why


def test_the_operators_are_told_once_and_a_failing_operator_email_fails_the_tick(unverified_sender, moto_server):
    from billing.settings import Settings

    close_month(Settings.from_env(), "2026-10")
    store = BillingStore()
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"billing": store})
        with pytest.raises(BillingError, match=f"alert deliveries are failing .*MessageRejected.*and so did telling {OPERATORS}"):
            undelivered_alerts_sensor(context)
        assert context.cursor is None  # not told: the next tick tries again
        boto3.client("ses", endpoint_url=moto_server.url).verify_email_identity(EmailAddress=SENDER)
        undelivered_alerts_sensor(context)
        undelivered_alerts_sensor(context)
    [told] = [m for m in sent_emails(moto_server.url) if m["destinations"]["ToAddresses"] == [OPERATORS]]
    assert told["subject"] == "Billing: alert deliveries are failing"
    assert "verify BILLING_ALERT_SENDER in SES" in told["body"]
