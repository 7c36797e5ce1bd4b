"""The Dagster definitions of billing: assets, jobs, schedules and sensors."""
import dagster as dg

from assets import aggregate, alert, finance, ingest, invoice, pay, rate, report
from billing_jobs.schedules import daily_ingest_schedule, month_end_close_schedule
from billing_jobs.sensors import snapshot_drop_sensor
from resources import BillingStore, StripeResource

ingest_job = dg.define_asset_job(
    "ingest_usage",
    selection=dg.AssetSelection.assets(ingest.usage_events),
)

month_end_close = dg.define_asset_job(
    "month_end_close",
    selection=(dg.AssetSelection.groups("metering", "reports", "invoicing", "finance")
               - dg.AssetSelection.assets(ingest.usage_events)),
    description="Aggregate the month's usage, issue its invoices, cost breakdowns and PDFs, report, and write "
                "the finance close pack (run after the month's days are ingested).",
)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, aggregate, invoice, rate, report, alert, pay, finance]),
    asset_checks=dg.load_asset_checks_from_modules([ingest, aggregate, invoice, rate, report, alert, pay, finance]),
    jobs=[ingest_job, month_end_close, alert.alerts_job, alert.deliver_alerts, pay.collect_payments],
    schedules=[
        # Every schedule and sensor runs by default: an operator who starts the daemon gets the close without a
        # click in the UI (README, "What runs on its own"). One turned off in the UI stays off.
        daily_ingest_schedule(ingest_job),
        month_end_close_schedule(month_end_close),
        alert.deliver_alerts_schedule,
        pay.collect_payments_schedule,
    ],
    sensors=[snapshot_drop_sensor, alert.usage_alert_sensor, alert.undelivered_alerts_sensor,
             alert.notify_operators_of_failure, pay.ach_settlement_sensor],
    # Every run executes its steps in one process, including a backfill or materialization from the UI (the
    # implicit asset job, which takes this default rather than a job's): a process per step costs a Python start
    # and a code load each (a UI backfill took 56 s against 6.8 s from the CLI), and buys no parallelism, as the
    # warehouse writers queue on one pool slot and invoice_pdfs renders on every core itself. docs/operations.md.
    executor=dg.in_process_executor,
    resources={"billing": BillingStore(),
               "stripe": StripeResource(api_key=dg.EnvVar("STRIPE_API_KEY"), api_base=dg.EnvVar("STRIPE_API_BASE"))},
)
