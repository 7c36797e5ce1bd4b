"""A failed run's email says what failed in the step's words, what to do, and links to the run in the UI."""
import email
import email.policy

import dagster as dg
import pytest

from assets.alert import notify_operators_of_failure
from billing_jobs.definitions import defs
from resources import BillingStore
from tests.conftest import Metering, tenant


@pytest.fixture
def broken(billing_home, monkeypatch):
    """An unreadable snapshot file of 2026-10-15."""
    for name, value in {"STRIPE_API_KEY": "", "STRIPE_API_BASE": "",
                        "BILLING_DAGSTER_URL": "https://dagster.acme.example/"}.items():
        monkeypatch.setenv(name, value)
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    path = metering.root / "dt=2026-10-15" / "part-0000.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet at all")
    return path


def failure_email(billing_home, job: dg.JobDefinition, **execution) -> tuple[email.message.EmailMessage, str]:
    """The email the failure sensor sends for a failed run of `job` over 2026-10-15, and the run's id."""
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2026-10-15", raise_on_error=False, **execution)
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="notify_operators_of_failure", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=failure, resources={"billing": BillingStore()}).for_run_failure()
        notify_operators_of_failure(context)
    [mail] = (billing_home / "outbox" / "email").iterdir()
    return email.message_from_bytes(mail.read_bytes(), policy=email.policy.default), result.run_id


def test_a_broken_snapshot_file_is_named_with_why_what_to_do_and_the_run_link(billing_home, broken):
    message, run_id = failure_email(billing_home, defs.resolve_job_def("ingest_usage"))
    text = message.get_content()
    assert message["Subject"] == "Billing run failed: ingest_usage 2026-10-15"
    assert f"- step usage_events: unreadable snapshot file {broken}" in text
    assert "Wrapper" not in text and "dagster._core" not in text  # the user's error, not Dagster's
    assert "What to do: Fix or replace the file or setting named above" in text
    assert "'billing close --month 2026-10'" in text
    assert f"The run in the Dagster UI: https://dagster.acme.example/runs/{run_id}" in text


def test_a_run_launched_from_the_asset_graph_is_named_by_its_assets(billing_home, broken):
    """Dagster runs it under its hidden __ASSET_JOB, a name no operator knows."""
    message, _ = failure_email(billing_home, defs.resolve_implicit_global_asset_job_def(),
                               asset_selection=[dg.AssetKey("usage_events")])
    assert message["Subject"] == "Billing run failed: usage_events (from the asset graph) 2026-10-15"
    assert message.get_content().startswith("The usage_events (from the asset graph) run of 2026-10-15 failed.")
    assert "__ASSET_JOB" not in message.get_content()
