"""Budget alerts: evaluated on new usage, written to the ledger's outbox, delivered with retries."""
import hashlib
from datetime import datetime

import dagster as dg

from assets.ingest import usage_events
from billing.aggregate import live_monthly_totals
from billing.alerts import evaluate
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
    return dg.MaterializeResult(metadata={"alerts_fired": len(fired), **{f"deliveries {k}": v for k, v in sent.items()}})


alerts_job = dg.define_asset_job("evaluate_alerts", selection=[usage_alerts], executor_def=dg.in_process_executor)


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
    counts = billing.alert_book().deliver_due(billing.transport(), billing.settings().now())
    context.log.info(f"alert deliveries: {counts}")


@dg.job(executor_def=dg.in_process_executor)
def deliver_alerts():
    deliver_due_alerts()


deliver_alerts_schedule = dg.ScheduleDefinition(job=deliver_alerts, cron_schedule="*/5 * * * *", execution_timezone="UTC",
                                                default_status=dg.DefaultScheduleStatus.RUNNING)


@dg.run_failure_sensor(monitored_jobs=None, default_status=dg.DefaultSensorStatus.RUNNING)
def notify_operators_of_failure(context: dg.RunFailureSensorContext, billing: BillingStore) -> None:
    """Tells the operators when a close or ingestion run fails (BILLING_OPERATOR_EMAIL)."""
    run = context.dagster_run
    settings = billing.settings()
    billing.transport().send("email", settings.operator_email, f"Billing run failed: {run.job_name}",
                             f"Run {run.run_id} of {run.job_name} failed: {context.failure_event.message}",
                             f"run-failure:{run.run_id}")
