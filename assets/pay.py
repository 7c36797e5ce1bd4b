"""Payments: card and ACH invoices charged through Stripe, statuses kept up to date, contacts told."""
from dataclasses import dataclass, field

import dagster as dg

from assets.invoice import invoice_pdfs
from billing.alerts import Crossing
from billing.directory import Tenant
from billing.payments import Payments, tenant_message
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore, StripeResource

NOTICE_CHANNELS = ("email", "in_app")
# Outcomes operators act on: their detail goes to the log and the asset's metadata, never to tenants.
OPERATOR_OUTCOMES = ("stripe_error", "method_error", "unknown", "retries_exhausted")


@dataclass
class Collection:
    """What a collection did: counts by outcome, and what operators must look at (never shown to tenants)."""
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        unsent = self.counts.get("no_stripe_key", 0)
        no_key = [f"STRIPE_API_KEY is not set: {unsent} card or ACH invoices were not charged; they stay pending, "
                  "never overdue, until a run with the key charges them"] if unsent else []
        return no_key + self.problems

    def warn(self, log) -> None:
        for warning in self.warnings():
            log.warning(warning)

    def metadata(self, shown: int = 50) -> dict:
        warnings = self.warnings()
        listed = [f"- {w}" for w in warnings[:shown]] + ([f"- ... and {len(warnings) - shown} more (the run's log)"]
                                                        if len(warnings) > shown else [])
        return {**{f"payments {k}": v for k, v in sorted(self.counts.items())},
                "payment problems": dg.MetadataValue.md("\n".join(listed) or "none")}


def collect(billing: BillingStore, stripe: StripeResource, periods: list[str], actor: str) -> Collection:
    """Charge what is due, follow ACH settlements, mark overdue invoices; tell billing contacts."""
    book, alerts, now = billing.invoice_book(), billing.alert_book(), billing.settings().now()
    tenants = {tenant.tenant_id: tenant for tenant in billing.ledger().tenants()}
    client, settings = stripe.client(), billing.settings()
    payments = Payments(book, client, settings.payment_retry_days, settings.overdue_grace_days, actor=actor)
    collection = Collection()
    for period in periods:
        invoices = {invoice.invoice_id: invoice for invoice in book.of_period(period)}
        followed = payments.follow_processing(list(invoices.values()), now) if client is not None else []
        settled = {result.invoice_id for result in followed}  # an ACH debit that just settled or failed: done for today
        results = followed + [payments.charge(invoice, tenants[invoice.tenant_id], now)
                              for invoice in invoices.values() if invoice.invoice_id not in settled]
        notices: dict[Tenant, list[Crossing]] = {}  # what billing contacts are told, recorded in one transaction
        for result in results:
            collection.counts[result.outcome] = collection.counts.get(result.outcome, 0) + 1
            invoice = invoices[result.invoice_id]
            if result.outcome in OPERATOR_OUTCOMES:
                collection.problems.append(
                    f"{invoice.invoice_number} ({invoice.tenant_id}): {result.outcome}: {result.detail}")
            message = tenant_message(invoice, result)
            if message:
                attempt = len(payments.attempts(invoice.invoice_id))
                notices.setdefault(tenants[invoice.tenant_id], []).append(Crossing(
                    f"invoice {invoice.invoice_number} attempt {attempt}", "payment_failed", message, NOTICE_CHANNELS))
        for invoice in payments.mark_overdue(period, now.date()):
            collection.counts["overdue"] = collection.counts.get("overdue", 0) + 1
            notices.setdefault(tenants[invoice.tenant_id], []).append(Crossing(
                f"invoice {invoice.invoice_number}", "overdue",
                f"invoice {invoice.invoice_number} ({invoice.total} USD) was due on {invoice.due_date} and is unpaid",
                NOTICE_CHANNELS))
        alerts.record_all(period, notices, now)
    alerts.deliver_due(billing.transport(), now)
    return collection


@dg.asset(partitions_def=monthly_partitions, deps=[invoice_pdfs], group_name="invoicing", kinds={"stripe"})
def invoice_payments(context: dg.AssetExecutionContext, billing: BillingStore, stripe: StripeResource) -> dg.MaterializeResult:
    """The month's card and ACH invoices charged through Stripe (one PaymentIntent per attempt, never two
    charges); invoice and wire invoices wait for `billing invoices mark-paid`. No key: nothing is charged."""
    collection = collect(billing, stripe, [context.partition_key], actor=f"run {context.run.run_id}")
    collection.warn(context.log)
    return dg.MaterializeResult(metadata=collection.metadata())


@dg.op(description="Retry declined charges on the dunning schedule, follow ACH, mark overdue invoices.")
def collect_due_payments(context: dg.OpExecutionContext, billing: BillingStore, stripe: StripeResource) -> None:
    collection = collect(billing, stripe, billing.invoice_book().unpaid_periods(), actor=f"run {context.run_id}")
    context.log.info(f"payments: {collection.counts}")
    collection.warn(context.log)


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
