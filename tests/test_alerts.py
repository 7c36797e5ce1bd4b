"""Budget alerts: thresholds at their exact boundaries, once each, on the right channels to the right people,
delivered through SES and SNS (moto) with retries, forecasts ahead of time, and the Dagster sensor."""
import email
import email.policy
import json
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal as D

import dagster as dg
import pytest

from billing.alerts import AlertBook, evaluate, usage_crossings
from billing.directory import Budget, Tenant, User
from billing.ledger import Ledger
from billing.price_book import load_price_book
from billing.settings import Settings
from billing.transports import AwsTransport, FileTransport

BOOK = load_price_book(Settings.from_env({}).price_book)
AFTER_THE_MONTH = datetime(2026, 11, 5, tzinfo=timezone.utc)
PEOPLE = (User("admin", "Ada", "ada@acme.example", "tenant_admin", "+15550100001"),
          User("billing", "Bob", "bob@acme.example", "billing_contact"),  # no phone: no SMS
          User("dev", "Cy", "cy@acme.example", "member", "+15550100003"))  # a member: nothing


def acme(**extra) -> Tenant:
    return Tenant("acme", "Acme", "US", "professional", users=PEOPLE, **extra)


def levels(queries) -> list[str]:
    quantities = {"llm_tokens": D(0), "sql_queries": D(queries), "storage_gb": D(0), "users": D(0),
                  "api_requests": D(0), "compute_hours": D(0)}
    return [c.level for c in usage_crossings(quantities, BOOK.plan("professional").included)]


@pytest.mark.parametrize("queries, expected", [
    ("79990", []), ("80000", ["warning"]), ("94999.99", ["warning"]), ("95000", ["warning", "critical"]),
    ("100000", ["warning", "critical"]), ("100010", ["warning", "critical", "overage"]),
])
def test_exact_boundaries(queries, expected):  # 79.99 %, 80.00 %, 95.00 %, 100.00 %, 100.01 % of 100,000
    assert levels(queries) == expected


@pytest.fixture
def alert_book(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.migrate()
    from tests.test_ledger import directory
    from tests.conftest import TODAY, tenant

    ledger.import_directory(directory(tenant("acme", users=[
        {"user_id": u.user_id, "name": u.name, "email": u.email, "role": u.role, **({"phone": u.phone} if u.phone else {})}
        for u in PEOPLE])), TODAY)
    return AlertBook(ledger)


def fire(book, queries, now=AFTER_THE_MONTH, tenant=None):
    tenant = tenant or acme()
    return book.record(tenant, "2026-10", evaluate(tenant, "2026-10", {"sql_queries": D(queries)}, BOOK, now), now)


def test_each_level_fires_once_to_admins_and_billing_contacts(alert_book, tmp_path):
    assert len(fire(alert_book, 85_000)) == 1  # warning
    assert fire(alert_book, 86_000) == [] and fire(alert_book, 85_000) == []  # repeated ticks, reruns
    restarted = AlertBook(Ledger(alert_book.ledger.url))
    assert fire(restarted, 90_000) == []
    assert len(fire(restarted, 101_000)) == 1  # critical and overage at once: only overage is delivered
    assert fire(restarted, 120_000) == []
    deliveries = alert_book.deliveries("acme")
    sent_to = sorted((d["level"], d["channel"], d["recipient"]) for d in deliveries)
    assert sent_to == [
        ("overage", "email", "ada@acme.example"), ("overage", "email", "bob@acme.example"),
        ("overage", "in_app", "admin"), ("overage", "in_app", "billing"), ("overage", "sms", "+15550100001"),
        ("warning", "email", "ada@acme.example"), ("warning", "email", "bob@acme.example"),
        ("warning", "in_app", "admin"), ("warning", "in_app", "billing")]
    counts = alert_book.deliver_due(FileTransport(tmp_path / "outbox", "billing@acme.example"), AFTER_THE_MONTH)
    assert counts == {"sent": 5, "retrying": 0, "failed": 0}
    assert alert_book.deliver_due(FileTransport(tmp_path / "outbox", "x@y.io"), AFTER_THE_MONTH)["sent"] == 0
    assert len(list((tmp_path / "outbox" / "email").iterdir())) == 4
    assert "sql_queries at 101.00 %" in next((tmp_path / "outbox" / "sms").iterdir()).read_text()


def test_in_app_notifications_can_be_read(alert_book):
    fire(alert_book, 85_000)
    [first, second] = alert_book.notifications("acme")
    assert first["read_at"] is None and first["sent_at"] is not None
    assert alert_book.mark_read(first["notification_id"], AFTER_THE_MONTH)
    assert not alert_book.mark_read(first["notification_id"], AFTER_THE_MONTH)
    assert alert_book.notifications("acme")[0]["read_at"] is not None


def test_a_custom_budget_alerts_on_its_channels(alert_book):
    tenant = acme(budgets=(Budget(D("520"), ("email",)),))
    fire(alert_book, 100_000, tenant=tenant)  # 499 base, no overage: below 520
    assert [d for d in alert_book.deliveries("acme") if d["level"] == "budget"] == []
    fire(alert_book, 106_000, tenant=tenant)  # 499 + 6,000 x 0.004 = 523.00
    budget = [d for d in alert_book.deliveries("acme") if d["level"] == "budget"]
    assert sorted(d["channel"] for d in budget) == ["email", "email"]


def test_forecasts_warn_before_a_limit_or_budget_is_crossed(alert_book):
    mid_month = datetime(2026, 10, 16, tzinfo=timezone.utc)  # 15 of 31 days
    tenant = acme(budgets=(Budget(D("590"), ("in_app",)),))
    crossings = evaluate(tenant, "2026-10", {"sql_queries": D(60_000)}, BOOK, mid_month)
    forecast = {c.subject for c in crossings if c.level == "forecast"}
    # 60,000 queries in 15 of 31 days project to 124,000: 24,000 over the limit, 499 + 96 = 595 of spend
    assert forecast == {"sql_queries", "budget:590"}
    assert all(c.channels == ("email", "in_app") for c in crossings if c.level == "forecast")
    assert [c.level for c in evaluate(tenant, "2026-10", {"sql_queries": D(40_000)}, BOOK, mid_month)] == []
    assert evaluate(tenant, "2026-10", {"sql_queries": D(60_000)}, BOOK, datetime(2026, 10, 2, tzinfo=timezone.utc)) == []


def moto_data(moto_server) -> dict:
    return json.loads(urllib.request.urlopen(f"{moto_server.url}/moto-api/data.json").read())


def test_ses_and_sns_delivery_with_a_failure_retried_once(alert_book, s3, moto_server):
    import boto3

    fire(alert_book, 101_000)
    transport = AwsTransport("billing@acme.example", moto_server.url)
    # The sender is not verified yet: SES refuses, the outbox keeps the emails for later.
    first = alert_book.deliver_due(transport, AFTER_THE_MONTH)
    assert first == {"sent": 1, "retrying": 2, "failed": 0}  # the SMS went; two emails wait
    assert [d["last_error"] for d in alert_book.deliveries("acme") if d["status"] == "pending"][0].startswith(
        "An error occurred (MessageRejected)")
    boto3.client("ses", endpoint_url=moto_server.url).verify_email_identity(EmailAddress="billing@acme.example")
    assert alert_book.deliver_due(transport, AFTER_THE_MONTH)["sent"] == 0  # not due before its backoff
    later = datetime(2026, 11, 5, 0, 5, tzinfo=timezone.utc)
    assert alert_book.deliver_due(transport, later) == {"sent": 2, "retrying": 0, "failed": 0}
    assert alert_book.deliver_due(transport, later)["sent"] == 0
    data = moto_data(moto_server)
    assert sorted(m["destinations"]["ToAddresses"][0] for m in data["ses"]["Message"]) == [
        "ada@acme.example", "bob@acme.example"]
    assert [(m["phone_number"], "101.00 %" in m["message"]) for m in data["sns"]["SMS"]] == [("+15550100001", True)]


def test_the_sensor_requests_one_run_per_new_crossing(billing_home):
    from assets.alert import usage_alert_sensor, usage_alerts
    from assets.ingest import usage_events
    from resources import BillingStore
    from tests.conftest import Metering, event, tenant

    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter"))
    metering.write("2026-10-05", [event("q", "2026-10-05T10:00:00Z", "acme", "sql_queries", "9000")])
    resources = {"billing": BillingStore(billing_home=str(billing_home))}
    with dg.instance_for_test() as instance:
        dg.materialize([usage_events], partition_key="2026-10-05", resources=resources, instance=instance)
        first = usage_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        [request] = first.run_requests
        assert request.partition_key == "2026-10" and request.run_key.startswith("2026-10:")
        # A tick without a cursor (a restarted sensor) asks for the same run: the run key deduplicates it.
        assert usage_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources)).run_requests == [request]
        # With the cursor, nothing new is seen.
        later = usage_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
        assert later.run_requests == [] and later.cursor == first.cursor
        # The requested run fires the alert; new usage below the next level requests nothing.
        assert dg.materialize([usage_alerts], partition_key="2026-10", resources=resources, instance=instance).success
        dg.materialize([usage_events], partition_key="2026-10-05", resources=resources, instance=instance)
        rerun = usage_alert_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
        assert rerun.run_requests == [] and int(rerun.cursor) > int(first.cursor)
    assert [n["level"] for n in AlertBook(Ledger(metering.settings.ledger_url)).notifications("acme")] == ["warning"]


def test_operators_hear_of_a_failed_run(billing_home):
    from assets.alert import notify_operators_of_failure
    from resources import BillingStore

    @dg.op
    def breaks():
        raise RuntimeError("disk full")

    @dg.job
    def month_end_close():
        breaks()

    with dg.instance_for_test() as instance:
        result = month_end_close.execute_in_process(instance=instance, raise_on_error=False)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="notify_operators_of_failure", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=failure, resources={"billing": BillingStore(billing_home=str(billing_home))},
        ).for_run_failure()
        notify_operators_of_failure(context)
    [mail] = (billing_home / "outbox" / "email").iterdir()
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["To"] == "billing-operators@localhost" and "month_end_close" in message["Subject"]
    assert "- step breaks: RuntimeError: disk full" in message.get_content() and result.run_id in message.get_content()
