"""A failed run's email says what failed in the step's words, what to do, and links to the run in the UI."""
import email
import email.policy

import dagster as dg

from assets.alert import notify_operators_of_failure
from billing_jobs.definitions import defs
from resources import BillingStore
from tests.conftest import Metering, tenant


def test_a_broken_snapshot_file_is_named_with_why_what_to_do_and_the_run_link(billing_home, monkeypatch):
    for name, value in {"STRIPE_API_KEY": "", "STRIPE_API_BASE": "",
                        "BILLING_DAGSTER_URL": "https://dagster.acme.example/"}.items():
        monkeypatch.setenv(name, value)
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    broken = metering.root / "dt=2026-10-15" / "part-0000.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not parquet at all")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingest_usage").execute_in_process(
            instance=instance, partition_key="2026-10-15", raise_on_error=False)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="notify_operators_of_failure", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=failure, resources={"billing": BillingStore()}).for_run_failure()
        notify_operators_of_failure(context)
    [mail] = (billing_home / "outbox" / "email").iterdir()
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    text = message.get_content()
    assert message["Subject"] == "Billing run failed: ingest_usage 2026-10-15"
    assert f"- step usage_events: unreadable snapshot file {broken}" in text
    assert "Wrapper" not in text and "dagster._core" not in text  # the user's error, not Dagster's
    assert "What to do: Fix or replace the file or setting named above" in text
    assert "'billing close --month 2026-10'" in text
    assert f"The run in the Dagster UI: https://dagster.acme.example/runs/{result.run_id}" in text
