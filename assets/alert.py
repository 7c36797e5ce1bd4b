"""Budget alerts: evaluated on new usage, written to the ledger's outbox, delivered with retries."""
import hashlib
import json
from datetime import datetime

import dagster as dg

from assets.ingest import usage_events
from billing.aggregate import live_monthly_totals
from billing.alerts import evaluate
from billing.settings import BillingError
from billing_jobs.failures import run_name, step_error
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore


def pending_crossings(billing: BillingStore, period: str, now: datetime) -> dict:
    """Thresholds reached and not yet fired, per tenant. Reads Parquet only: no DuckDB write lock."""
    totals = live_monthly_totals(billing.warehouse().connect(), period)
    book, price_book = billing.alert_book(), billing.price_book()
    pending = {}
    for tenant in billing.ledger().tenants():
        fired = book.fired(tenant.tenant_id, period)
        crossings = [c for c in evaluate(tenant, period, totals.get(tenant.tenant_id, {}), price_book, now)
                     if (c.subject, c.level) not in fired]
        if crossings:
            pending[tenant] = crossings
    return pending


@dg.asset(partitions_def=monthly_partitions, deps=[usage_events], group_name="alerts", kinds={"sql"})
def usage_alerts(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """Alerts of the month: 80 %, 95 % and overage of every limit, custom budgets and forecasts, each fired
    once per tenant, subject and level, written to the outbox and then delivered (email, SMS, in-app)."""
    period, now = context.partition_key, billing.settings().now()
    book = billing.alert_book()
    fired = book.record_all(period, pending_crossings(billing, period, now), now)
    sent = book.deliver_due(billing.transport(), now)
    undelivered = warn_of_undelivered(context, book)
    return dg.MaterializeResult(metadata={
        "alerts_fired": len(fired), **{f"deliveries {k}": v for k, v in sent.items()},
        "undelivered": sum(u.deliveries for u in undelivered),
        "undelivered why": dg.MetadataValue.md("\n".join(f"- {u.line()}" for u in undelivered) or "none"),
    })


def warn_of_undelivered(context, book) -> list:
    """The outbox's failing deliveries, each kind as a warning in the run's log: a fired alert is not a sent one."""
    undelivered = book.undelivered()
    for trouble in undelivered:
        context.log.warning(f"alert deliveries failing: {trouble.line()}")
    return undelivered


alerts_job = dg.define_asset_job("evaluate_alerts", selection=[usage_alerts])


@dg.sensor(job=alerts_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def usage_alert_sensor(context: dg.SensorEvaluationContext, billing: BillingStore) -> dg.SensorResult:
    """On new usage materializations, requests an alert run for each month with a newly reached threshold.
    The cursor is the last materialization seen; the run key names the alerts the run will fire, so
    repeated ticks, reruns and restarts request it once."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=usage_events.key, after_storage_id=int(context.cursor or 0)), limit=1000,
        ascending=True).records
    if not records:
        return dg.SensorResult(skip_reason="no new usage", cursor=context.cursor)
    requests = []
    for period in sorted({record.partition_key[:7] for record in records if record.partition_key}):
        pending = pending_crossings(billing, period, billing.settings().now())
        keys = sorted(f"{tenant.tenant_id}/{c.subject}/{c.level}" for tenant, crossings in pending.items() for c in crossings)
        if keys:
            run_key = f"{period}:{hashlib.sha256('|'.join(keys).encode()).hexdigest()}"
            requests.append(dg.RunRequest(partition_key=period, run_key=run_key))
    return dg.SensorResult(run_requests=requests, cursor=str(records[-1].storage_id),
                           skip_reason=None if requests else "no new threshold reached")


@dg.op(description="Send the outbox's due deliveries; failures wait for the next try, with backoff.")
def deliver_due_alerts(context: dg.OpExecutionContext, billing: BillingStore) -> None:
    book = billing.alert_book()
    counts = book.deliver_due(billing.transport(), billing.settings().now())
    context.log.info(f"alert deliveries: {counts}")
    warn_of_undelivered(context, book)


@dg.job
def deliver_alerts():
    deliver_due_alerts()


deliver_alerts_schedule = dg.ScheduleDefinition(job=deliver_alerts, cron_schedule="*/5 * * * *",
                                                execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING)
def undelivered_alerts_sensor(context: dg.SensorEvaluationContext, billing: BillingStore) -> dg.SkipReason:
    """Tells the operators once of each new reason alert deliveries fail (an unverified SES sender, missing
    credentials); the cursor holds the reasons told. If the email to the operators fails too, the tick fails,
    which the UI shows on the sensor, and the next tick tries again."""
    undelivered = billing.alert_book().undelivered()
    reasons = sorted({f"{u.status}|{u.channel}|{u.error}" for u in undelivered})
    told = set(json.loads(context.cursor or "[]"))
    new = [u for u in undelivered if f"{u.status}|{u.channel}|{u.error}" not in told]
    if new:
        settings = billing.settings()
        body = ("Budget alerts are not reaching tenants:\n\n" + "\n".join(f"- {u.line()}" for u in new)
                + "\n\n'billing alerts --tenant ID --json' shows each delivery and its last error.")
        digest = hashlib.sha256("\n".join(sorted(reasons)).encode()).hexdigest()[:16]
        try:
            billing.transport().send("email", settings.operator_email, "Billing: alert deliveries are failing", body,
                                     f"undelivered:{digest}")
        except Exception as error:  # the operators' channel fails too: say both on the sensor's tick
            raise BillingError(f"alert deliveries are failing ({new[0].line()}), and so did telling "
                               f"{settings.operator_email}: {error}") from error
    context.update_cursor(json.dumps(reasons))  # a reason gone and back is told again
    return dg.SkipReason(f"told the operators of {len(new)} new reasons" if new else "no new delivery failure")


# What to do when a job fails, after fixing the cause the email names.
RERUN = {
    "ingest_usage": "Fix or replace the file or setting named above (docs/operations.md, \"A broken snapshot file\"). "
                    "The drop sensor ingests the day again once its files change; or rerun: "
                    "'billing close --month {month}', or Re-execute the run in the UI.",
    "month_end_close": "Fix the cause named above, then rerun the month: 'billing close --month {month}', or "
                       "Re-execute the run in the UI. A rerun never changes a final invoice or charges twice.",
}
RERUN_ANY = "Fix the cause named above, then Re-execute the run in the UI."


@dg.run_failure_sensor(monitored_jobs=None, default_status=dg.DefaultSensorStatus.RUNNING)
def notify_operators_of_failure(context: dg.RunFailureSensorContext, billing: BillingStore) -> None:
    """Tells the operators when a run fails (BILLING_OPERATOR_EMAIL): what failed in the step's own words (the
    unreadable file and why), what to do, and a link to the run in the Dagster UI (BILLING_DAGSTER_URL)."""
    run = context.dagster_run
    settings = billing.settings()
    partition = run.tags.get("dagster/partition") or "-".join(
        filter(None, (run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end"))))
    failed_steps = [(event.step_key, step_error(event.step_failure_data.error))
                    for event in context.get_step_failure_events() if event.step_failure_data.error]
    what = "\n".join(f"- step {step}: {error}" for step, error in failed_steps) or f"- {context.failure_event.message}"
    advice = RERUN.get(run.job_name, RERUN_ANY).format(month=partition[:7] or "YYYY-MM")
    body = (f"The {run_name(run)} run{f' of {partition}' if partition else ''} failed.\n\n"
            f"What failed:\n{what}\n\nWhat to do: {advice}\n\n"
            f"The run in the Dagster UI: {settings.dagster_url}/runs/{run.run_id}\n")
    subject = f"Billing run failed: {run_name(run)}{f' {partition}' if partition else ''}"
    billing.transport().send("email", settings.operator_email, subject, body, f"run-failure:{run.run_id}")
