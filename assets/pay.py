"""Payments: card and ACH invoices charged through Stripe, statuses kept up to date, contacts told."""
import dagster as dg

from assets.invoice import invoice_pdfs
from billing.alerts import Crossing
from billing.directory import Tenant
from billing.payments import Payments
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore, StripeResource

NOTICE_CHANNELS = ("email", "in_app")


def collect(billing: BillingStore, stripe: StripeResource, periods: list[str], actor: str) -> dict[str, int]:
    """Charge what is due, follow ACH settlements, mark overdue invoices; tell billing contacts."""
    book, alerts, now = billing.invoice_book(), billing.alert_book(), billing.settings().now()
    tenants = {tenant.tenant_id: tenant for tenant in billing.ledger().tenants()}
    client, settings = stripe.client(), billing.settings()
    payments = Payments(book, client, settings.payment_retry_days, settings.overdue_grace_days, actor=actor)
    counts: dict[str, int] = {}
    for period in periods:
        invoices = book.of_period(period)
        if client is not None:
            results = payments.follow_processing(invoices, now) + [
                payments.charge(invoice, tenants[invoice.tenant_id], now) for invoice in invoices]
        else:
            results = []
            counts["skipped: no STRIPE_API_KEY"] = sum(i.payment_method_type in ("card", "ach") for i in invoices)
        notices: dict[Tenant, list[Crossing]] = {}  # what billing contacts are told, recorded in one transaction
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
            if result.outcome in ("declined", "hard_declined", "error"):
                invoice = next(i for i in invoices if i.invoice_id == result.invoice_id)
                attempt = len(payments.attempts(invoice.invoice_id))
                notices.setdefault(tenants[invoice.tenant_id], []).append(Crossing(
                    f"invoice {invoice.invoice_number} attempt {attempt}", "payment_failed",
                    f"the payment of invoice {invoice.invoice_number} ({invoice.total} USD) failed: {result.detail}",
                    NOTICE_CHANNELS))
        for invoice in payments.mark_overdue(book.of_period(period), now.date()):
            counts["overdue"] = counts.get("overdue", 0) + 1
            notices.setdefault(tenants[invoice.tenant_id], []).append(Crossing(
                f"invoice {invoice.invoice_number}", "overdue",
                f"invoice {invoice.invoice_number} ({invoice.total} USD) was due on {invoice.due_date} and is unpaid",
                NOTICE_CHANNELS))
        alerts.record_all(period, notices, now)
    alerts.deliver_due(billing.transport(), now)
    return counts


@dg.asset(partitions_def=monthly_partitions, deps=[invoice_pdfs], group_name="invoicing", kinds={"stripe"})
def invoice_payments(context: dg.AssetExecutionContext, billing: BillingStore, stripe: StripeResource) -> dg.MaterializeResult:
    """The month's card and ACH invoices charged through Stripe (one PaymentIntent per attempt, never two
    charges); invoice and wire invoices wait for `billing invoices mark-paid`. No key: nothing is charged."""
    counts = collect(billing, stripe, [context.partition_key], actor=f"run {context.run.run_id}")
    if stripe.client() is None:
        context.log.warning("STRIPE_API_KEY is not set: payments were skipped")
    return dg.MaterializeResult(metadata={f"payments {k}": v for k, v in sorted(counts.items())})


@dg.op(description="Retry declined charges on the dunning schedule, follow ACH, mark overdue invoices.")
def collect_due_payments(context: dg.OpExecutionContext, billing: BillingStore, stripe: StripeResource) -> None:
    counts = collect(billing, stripe, billing.invoice_book().unpaid_periods(), actor=f"run {context.run_id}")
    context.log.info(f"payments: {counts}")


@dg.job(executor_def=dg.in_process_executor)
def collect_payments():
    collect_due_payments()


collect_payments_schedule = dg.ScheduleDefinition(job=collect_payments, cron_schedule="0 6 * * *",
                                                  execution_timezone="UTC",
                                                  default_status=dg.DefaultScheduleStatus.RUNNING)


@dg.sensor(job=collect_payments, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING)
def ach_settlement_sensor(context: dg.SensorEvaluationContext, billing: BillingStore) -> dg.SensorResult:
    """ACH debits settle days after they are made: while any is processing, ask Stripe about it hourly."""
    processing = billing.invoice_book().processing_attempts()
    if not processing:
        return dg.SensorResult(skip_reason="no ACH payment is processing")
    hour = billing.settings().now().strftime("%Y-%m-%dT%H")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"ach:{hour}:{len(processing)}")])
