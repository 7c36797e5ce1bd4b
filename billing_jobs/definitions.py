"""The Dagster definitions of billing: assets, jobs, schedules and sensors."""
import dagster as dg

from assets import aggregate, alert, finance, ingest, invoice, pay, rate, report
from billing_jobs.sensors import snapshot_drop_sensor
from resources import BillingStore, StripeResource

ingest_job = dg.define_asset_job(
    "ingest_usage",
    selection=dg.AssetSelection.assets(ingest.usage_events),
    executor_def=dg.in_process_executor,
)

month_end_close = dg.define_asset_job(
    "month_end_close",
    selection=(dg.AssetSelection.groups("metering", "reports", "invoicing", "finance")
               - dg.AssetSelection.assets(ingest.usage_events)),
    executor_def=dg.in_process_executor,
    description="Aggregate the month's usage, issue its invoices, cost breakdowns and PDFs, report, and write "
                "the finance close pack (run after the month's days are ingested).",
)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, aggregate, invoice, rate, report, alert, pay, finance]),
    asset_checks=dg.load_asset_checks_from_modules([ingest, aggregate, invoice, rate, report, alert, pay, finance]),
    jobs=[ingest_job, month_end_close, alert.alerts_job, alert.deliver_alerts, pay.collect_payments],
    schedules=[
        # Yesterday's folder once more after midnight, whatever the sensor caught during the day.
        dg.build_schedule_from_partitioned_job(ingest_job, hour_of_day=0, minute_of_hour=30),
        # The previous month on the 3rd, leaving two days for late snapshots.
        dg.build_schedule_from_partitioned_job(month_end_close, day_of_month=3, hour_of_day=2),
        alert.deliver_alerts_schedule,
        pay.collect_payments_schedule,
    ],
    sensors=[snapshot_drop_sensor, alert.usage_alert_sensor, alert.notify_operators_of_failure, pay.ach_settlement_sensor],
    resources={"billing": BillingStore(),
               "stripe": StripeResource(api_key=dg.EnvVar("STRIPE_API_KEY"), api_base=dg.EnvVar("STRIPE_API_BASE"))},
)
