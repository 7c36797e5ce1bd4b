"""The Dagster definitions of billing: assets, jobs, schedules and sensors."""
from datetime import timedelta

import dagster as dg

from assets import aggregate, alert, ingest, invoice, pay, rate, report
from billing_jobs.sensors import snapshot_drop_sensor
from resources import BillingStore, StripeResource

ingest_job = dg.define_asset_job(
    "ingest_usage",
    selection=dg.AssetSelection.assets(ingest.usage_events),
    executor_def=dg.in_process_executor,
)

month_end_close = dg.define_asset_job(
    "month_end_close",
    selection=dg.AssetSelection.groups("metering", "reports", "invoicing") - dg.AssetSelection.assets(ingest.usage_events),
    executor_def=dg.in_process_executor,
    description="Aggregate the month's usage, issue its invoices, cost breakdowns and PDFs, and report "
                "(run after the month's days are ingested).",
)


# The partitions reach ahead of today (intraday usage, pre-dated folders, the month to date), so a schedule
# built from them would pick the latest partition: a day a month ahead, the month just begun. Each schedule
# names the partition it is for.
@dg.schedule(job=ingest_job, cron_schedule="30 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def ingest_usage_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday's folder once more after midnight, whatever the sensor caught during the day."""
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=yesterday, partition_key=yesterday)


@dg.schedule(job=month_end_close, cron_schedule="0 2 3 * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def month_end_close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The previous month on the 3rd, leaving two days for late snapshots (its invoices are final by then)."""
    previous_month = (context.scheduled_execution_time.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return dg.RunRequest(run_key=previous_month, partition_key=previous_month)


defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, aggregate, invoice, rate, report, alert, pay]),
    asset_checks=dg.load_asset_checks_from_modules([ingest, aggregate, invoice, rate, report, alert, pay]),
    jobs=[ingest_job, month_end_close, alert.alerts_job, alert.deliver_alerts, pay.collect_payments],
    schedules=[
        ingest_usage_schedule,
        month_end_close_schedule,
        alert.deliver_alerts_schedule,
        pay.collect_payments_schedule,
    ],
    sensors=[snapshot_drop_sensor, alert.usage_alert_sensor, alert.notify_operators_of_failure, pay.ach_settlement_sensor],
    resources={"billing": BillingStore(),
               "stripe": StripeResource(api_key=dg.EnvVar("STRIPE_API_KEY"), api_base=dg.EnvVar("STRIPE_API_BASE"))},
)
