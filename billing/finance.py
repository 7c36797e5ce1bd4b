"""The finance close pack (contract section 7): the reports finance reads at month end, built from the ledger
in Decimal, written as CSV byte for byte the same on a rerun of the same data, and reconciled. Free of Dagster.

Each report is a `Report`: a file name, typed columns and rows. The column kinds decide how a value is written
(money as a plain decimal with 2 places, dates as YYYY-MM-DD) and how it is read back, by the reconciliation
checks, the workbook and the command line, from the file finance actually reads.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from billing.directory import Tenant, last_day, next_month_start, parse_period
from billing.invoices import ADJUSTMENT, Invoice, InvoiceBook
from billing.money import round_half_up
from billing.pricing import BASE
from billing.settings import BillingError
from billing.price_book import LIMITED_METRICS
from billing.sql import query

TEXT, MONEY, DATE, INT = "text", "money", "date", "int"
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
COLLECTED = ("succeeded", "received")  # a charge that went through, a transfer recorded
ZERO = Decimal("0.00")


def _q(name: str) -> sa.TextClause:
    return sa.text(query(f"ledger/{name}"))


@dataclass(frozen=True)
class Report:
    name: str  # the file is <name>.csv
    title: str  # the workbook's sheet
    columns: tuple[tuple[str, str], ...]  # (name, kind)
    rows: list[dict]

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(name for name, _ in self.columns)
        writer.writerows([_cell(row.get(name), kind) for name, kind in self.columns] for row in self.rows)
        return buffer.getvalue().encode("utf-8")

    def sum(self, column: str, where=lambda row: True) -> Decimal:
        return sum((row[column] for row in self.rows if where(row)), ZERO)

    def totals(self) -> dict:
        """Rows and the sum of every money column: what the asset's metadata and `billing reports` show."""
        return {"rows": len(self.rows), **{name: self.sum(name) for name, kind in self.columns if kind == MONEY}}


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return str(round_half_up(value))
    if kind == DATE:
        return value.isoformat()
    return str(value)


def _parse(text: str, kind: str):
    if text == "" and kind != TEXT:
        return None
    if kind == MONEY:
        return Decimal(text)
    if kind == DATE:
        return date.fromisoformat(text)
    if kind == INT:
        return int(text)
    return text


def read_report(template: Report, data: bytes) -> Report:
    """A written CSV read back with the columns of `template` typed (money as Decimal, dates as date)."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    names = [name for name, _ in template.columns]
    if reader.fieldnames != names:
        raise ValueError(f"{template.file_name}: columns {reader.fieldnames} are not {names}")
    rows = [{name: _parse(row[name], kind) for name, kind in template.columns} for row in reader]
    return Report(template.name, template.title, template.columns, rows)


REGISTER = Report("invoice_register", "Invoice register", (
    ("invoice_id", TEXT), ("invoice_number", TEXT), ("tenant_id", TEXT), ("tenant_name", TEXT), ("period", TEXT),
    ("issued_at", DATE), ("due_date", DATE), ("payment_method", TEXT), ("plan", TEXT), ("subtotal", MONEY),
    ("tax", MONEY), ("total", MONEY), ("amount_paid", MONEY), ("balance", MONEY), ("status", TEXT), ("state", TEXT)), [])
REVENUE = Report("revenue_summary", "Revenue summary", (
    ("plan", TEXT), ("metric", TEXT), ("tenants", INT), ("amount", MONEY)), [])
AR_AGING = Report("ar_aging", "AR aging", (
    ("invoice_id", TEXT), ("invoice_number", TEXT), ("tenant_id", TEXT), ("tenant_name", TEXT), ("period", TEXT),
    ("due_date", DATE), ("balance", MONEY), ("days_past_due", INT), ("bucket", TEXT), ("status", TEXT),
    ("as_of", DATE)), [])
COLLECTIONS = Report("collections", "Collections", (
    ("invoice_id", TEXT), ("tenant_id", TEXT), ("method", TEXT), ("amount", MONEY), ("status", TEXT),
    ("reference", TEXT), ("at", DATE), ("payment_id", TEXT), ("error_code", TEXT)), [])
ADJUSTMENTS = Report("adjustments", "Adjustments", (
    ("invoice_id", TEXT), ("tenant_id", TEXT), ("period_adjusted", TEXT), ("amount", MONEY), ("reason", TEXT),
    ("adjustment_id", TEXT), ("recorded_at", DATE), ("applied_invoice_id", TEXT)), [])
CHANGES = Report("changes", "Changes", (
    ("invoice_id", TEXT), ("invoice_number", TEXT), ("tenant_id", TEXT), ("period", TEXT), ("old_amount", MONEY),
    ("adjustment", MONEY), ("new_amount", MONEY), ("adjustment_id", TEXT), ("recorded_at", DATE),
    ("applied_invoice_id", TEXT)), [])
QUARANTINE = Report("quarantine", "Quarantine", (
    ("arrival_day", DATE), ("source_file", TEXT), ("source_row", INT), ("reason", TEXT), ("event_id", TEXT),
    ("occurred_at", TEXT), ("tenant_id", TEXT), ("user_id", TEXT), ("service", TEXT), ("metric", TEXT),
    ("workload", TEXT), ("quantity", TEXT)), [])
# The pack's CSV files, in the order of the workbook's sheets.
TEMPLATES = (REGISTER, REVENUE, AR_AGING, COLLECTIONS, ADJUSTMENTS, CHANGES, QUARANTINE)


def _with_rows(template: Report, rows: list[dict]) -> Report:
    return Report(template.name, template.title, template.columns, rows)


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    return "1-30" if days_past_due <= 30 else "31-60" if days_past_due <= 60 else "61-90" if days_past_due <= 90 else "90+"


def _amount(row) -> Decimal:
    """A payment's amount: an attempt's cents (Stripe's unit), a transfer's recorded decimal."""
    return Decimal(row.amount_cents) / 100 if row.amount_cents is not None else Decimal(row.amount)


class FinanceBook:
    """Reads what the reports need from the ledger through sql/ledger/finance_*.sql.

    `remember=True`: each thing is read once and kept (the month's invoices with their lines, the tenants, each
    query's rows by its parameters), so that the reports and checks of one close, made from one such book, read
    the ledger once and all see the same picture of it."""

    def __init__(self, book: InvoiceBook, remember: bool = False):
        self.book, self.ledger = book, book.ledger
        self._kept: dict | None = {} if remember else None

    def _once(self, key: tuple, read):
        if self._kept is None:
            return read()
        if key not in self._kept:
            self._kept[key] = read()
        return self._kept[key]

    def _rows(self, name: str, params: dict) -> list:
        def read():
            with self.ledger.engine.connect() as con:
                return con.execute(_q(name), params).fetchall()
        return self._once(("rows", name, tuple(sorted(params.items()))), read)

    def invoices(self, period: str) -> list[Invoice]:
        """The month's invoices with their lines and adjustments."""
        return self._once(("invoices", period), lambda: self.book.of_period(period))

    def tenants(self) -> dict[str, Tenant]:
        return self._once(("tenants",), lambda: {tenant.tenant_id: tenant for tenant in self.ledger.tenants()})

    def payments(self, period: str) -> list:
        return self._rows("finance_payments", {"first_period": period, "last_period": period,
                                               "issued_by": "9999-12-31", "unpaid_only": 0})

    def first_charge_at(self, period: str) -> datetime | None:
        """When the first charge attempt on the month's invoices was recorded (the wall clock), None without one."""
        [row] = self._rows("finance_first_charge", {"period": period})
        return datetime.fromisoformat(row.first_at) if row.first_at else None

    def paid_by_invoice(self, period: str) -> dict[str, Decimal]:
        return _collected(self.payments(period))

    def register(self, period: str, tenants: dict[str, Tenant]) -> Report:
        return build_register(self.invoices(period), tenants, self.paid_by_invoice(period))

    def collections(self, period: str) -> Report:
        return build_collections(self.payments(period))

    def _unpaid(self, as_of: date) -> tuple[list, list]:
        """Unpaid final invoices issued by `as_of`, and the payments recorded on them."""
        return (self._rows("finance_unpaid_invoices", {"as_of": as_of.isoformat()}),
                self._rows("finance_payments", {"first_period": "0000-00", "last_period": "9999-99",
                                                "issued_by": as_of.isoformat(), "unpaid_only": 1}))

    def ar_aging(self, as_of: date, tenants: dict[str, Tenant]) -> Report:
        unpaid, payments = self._unpaid(as_of)
        return build_ar_aging(unpaid, _collected(payments), tenants, as_of)

    def open_balances(self, as_of: date) -> Decimal:
        """What AR aging must add up to, summed another way: the unpaid invoices' totals less all collected on them."""
        unpaid, payments = self._unpaid(as_of)
        return (sum((Decimal(row.total) for row in unpaid), ZERO)
                - sum((_amount(p) for p in payments if p.status in COLLECTED), ZERO))

    def adjustments(self, period: str) -> Report:
        first, _ = month_bounds(period)
        rows = self._rows("finance_adjustments_recorded", {"since": first.isoformat(),
                                                           "until": next_month_start(period).isoformat()})
        return build_adjustments(rows)

    def month_over_month(self, period: str, months: int = 4) -> list[dict]:
        periods = previous_periods(period, months)
        rows = self._rows("finance_invoice_totals", {"first_period": periods[0], "last_period": periods[-1]})
        figures = {p: {"period": p, "invoices": 0, "invoiced": ZERO, "paid": ZERO} for p in periods}
        for row in rows:
            figure = figures[row.period]
            figure["invoices"] += 1
            figure["invoiced"] += Decimal(row.total)
            if row.status == "paid":
                figure["paid"] += Decimal(row.total)
        return list(figures.values())


def _collected(payments: list) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for payment in payments:
        if payment.status in COLLECTED:
            paid[payment.invoice_id] = paid.get(payment.invoice_id, ZERO) + _amount(payment)
    return paid


def month_bounds(period: str) -> tuple[date, date]:
    return date(*parse_period(period), 1), last_day(period)


def previous_periods(period: str, count: int) -> list[str]:
    """`count` months ending with `period`, oldest first."""
    first, _ = month_bounds(period)
    periods = [period]
    for _ in range(count - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        periods.insert(0, first.strftime("%Y-%m"))
    return periods


# -- the reports ---------------------------------------------------------------------------------------------

def build_register(invoices: list[Invoice], tenants: dict[str, Tenant], paid: dict[str, Decimal]) -> Report:
    """Every invoice of the month; the plan is the one in effect on the month's last day (the month's limits)."""
    rows = []
    for invoice in sorted(invoices, key=lambda i: i.invoice_number):
        tenant = tenants[invoice.tenant_id]
        amount_paid = paid.get(invoice.invoice_id, ZERO)
        rows.append({
            "invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number, "tenant_id": invoice.tenant_id,
            "tenant_name": tenant.name, "period": invoice.period, "issued_at": invoice.issued_at,
            "due_date": invoice.due_date, "payment_method": invoice.payment_method_type,
            "plan": tenant.plan_on(last_day(invoice.period)), "subtotal": invoice.subtotal, "tax": invoice.tax,
            "total": invoice.total, "amount_paid": amount_paid, "balance": invoice.total - amount_paid,
            "status": invoice.status, "state": invoice.state,
        })
    return _with_rows(REGISTER, rows)


def _metric_order(metric: str) -> tuple[int, str]:
    order = [BASE, *LIMITED_METRICS, ADJUSTMENT]
    return (order.index(metric) if metric in order else len(order), metric)


def build_revenue_summary(invoices: list[Invoice], register: Report) -> Report:
    """Invoice lines summed by (plan, metric): base, each overage metric, and adjustments carried in.
    A line counts under its invoice's plan (the register's), so the summary adds up to the register's subtotals."""
    plan_of = {row["invoice_id"]: row["plan"] for row in register.rows}
    amounts: dict[tuple[str, str], Decimal] = {}
    tenants: dict[tuple[str, str], set[str]] = {}
    for invoice in invoices:
        for line in invoice.lines:
            key = (plan_of[invoice.invoice_id], line.metric)
            amounts[key] = amounts.get(key, ZERO) + line.amount
            tenants.setdefault(key, set()).add(invoice.tenant_id)
    rows = [{"plan": plan, "metric": metric, "tenants": len(tenants[(plan, metric)]), "amount": amounts[(plan, metric)]}
            for plan, metric in sorted(amounts, key=lambda key: (key[0], _metric_order(key[1])))]
    return _with_rows(REVENUE, rows)


def build_ar_aging(unpaid: list, paid: dict[str, Decimal], tenants: dict[str, Tenant], as_of: date) -> Report:
    """Unpaid final invoices issued by `as_of` with a balance, aged on the days past their due date at `as_of`.
    Balances are the ledger's when the report is made; `as_of` sets the clock of the ageing."""
    rows = []
    for invoice in unpaid:
        balance = Decimal(invoice.total) - paid.get(invoice.invoice_id, ZERO)
        if balance == 0:
            continue
        days = max((as_of - date.fromisoformat(invoice.due_date)).days, 0)
        rows.append({
            "invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number, "tenant_id": invoice.tenant_id,
            "tenant_name": tenants[invoice.tenant_id].name, "period": invoice.period,
            "due_date": date.fromisoformat(invoice.due_date), "balance": balance, "days_past_due": days,
            "bucket": bucket_of(days), "status": invoice.status, "as_of": as_of,
        })
    rows.sort(key=lambda row: (-row["days_past_due"], row["invoice_number"]))
    return _with_rows(AR_AGING, rows)


def aging_by_bucket(aging: Report) -> dict[str, Decimal]:
    return {bucket: aging.sum("balance", lambda row, b=bucket: row["bucket"] == b) for bucket in BUCKETS}


def build_collections(payments: list) -> Report:
    """Every charge attempt (with Stripe's PaymentIntent id as reference) and received transfer (with the bank's
    reference) of the month's invoices."""
    rows = [{
        "invoice_id": p.invoice_id, "tenant_id": p.tenant_id, "method": p.method, "amount": _amount(p),
        "status": p.status, "reference": p.reference, "at": date.fromisoformat(p.at[:10]),
        "payment_id": p.payment_id, "error_code": p.error_code,
    } for p in payments]
    return _with_rows(COLLECTIONS, rows)


def build_adjustments(adjustments: list) -> Report:
    """Adjustments recorded in the month: `invoice_id` is the invoice they correct, `applied_invoice_id` the
    later invoice that carries them (empty until it is drafted)."""
    rows = [{
        "invoice_id": a.source_invoice_id, "tenant_id": a.tenant_id, "period_adjusted": a.source_period,
        "amount": Decimal(a.amount), "reason": a.reason, "adjustment_id": a.adjustment_id,
        "recorded_at": date.fromisoformat(a.created_at[:10]), "applied_invoice_id": a.applied_invoice_id,
    } for a in adjustments]
    return _with_rows(ADJUSTMENTS, rows)


def build_changes(invoices: list[Invoice]) -> Report:
    """What changed since the books closed: each adjustment found on a final invoice of the month, with the
    invoice's amount (before tax, as rated) before and after it. Empty but for its header when nothing changed."""
    rows = []
    for invoice in sorted(invoices, key=lambda i: i.invoice_number):
        amount = sum((line.amount for line in invoice.lines if line.metric != ADJUSTMENT), ZERO)
        for adjustment in invoice.adjustments:
            difference = Decimal(adjustment["amount"])
            rows.append({
                "invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
                "tenant_id": invoice.tenant_id, "period": invoice.period, "old_amount": amount,
                "adjustment": difference, "new_amount": amount + difference,
                "adjustment_id": adjustment["adjustment_id"],
                "recorded_at": date.fromisoformat(adjustment["created_at"][:10]),
                "applied_invoice_id": adjustment["applied_invoice_id"],
            })
            amount += difference
    return _with_rows(CHANGES, rows)


def build_quarantine(rows: list[dict]) -> Report:
    return _with_rows(QUARANTINE, rows)


# -- reconciliation: each returns what disagrees, empty when the figures agree -------------------------------

def register_disagreements(register: Report, invoices: list[Invoice]) -> list[str]:
    """The register against the ledger's invoices of the month: the same invoices, the same amounts."""
    ledger = {i.invoice_id: i for i in invoices}
    listed = {row["invoice_id"]: row for row in register.rows}
    problems = [f"{i} is in the ledger, not in the register" for i in sorted(ledger.keys() - listed.keys())]
    problems += [f"{i} is in the register, not in the ledger" for i in sorted(listed.keys() - ledger.keys())]
    for invoice_id in sorted(ledger.keys() & listed.keys()):
        row, invoice = listed[invoice_id], ledger[invoice_id]
        for column in ("subtotal", "tax", "total"):
            if row[column] != getattr(invoice, column):
                problems.append(f"{row['invoice_number']} {column}: register {row[column]}, ledger {getattr(invoice, column)}")
    ledger_total = sum((i.total for i in invoices), ZERO)
    if register.sum("total") != ledger_total:
        problems.append(f"register total {register.sum('total')}, ledger {ledger_total}")
    return problems


def revenue_disagreements(revenue: Report, register: Report) -> list[str]:
    """The revenue summary against the register's subtotals, plan by plan."""
    plans = sorted({row["plan"] for row in revenue.rows} | {row["plan"] for row in register.rows})
    problems = []
    for plan in plans:
        summed = revenue.sum("amount", lambda row: row["plan"] == plan)
        subtotals = register.sum("subtotal", lambda row: row["plan"] == plan)
        if summed != subtotals:
            problems.append(f"plan {plan}: revenue {summed}, register subtotals {subtotals}")
    return problems


def aging_disagreements(aging: Report, open_balances: Decimal) -> list[str]:
    problems = [f"{row['invoice_number']}: {row['days_past_due']} days past due is not bucket {row['bucket']}"
                for row in aging.rows if bucket_of(row["days_past_due"]) != row["bucket"]]
    if aging.sum("balance") != open_balances:
        problems.append(f"AR aging {aging.sum('balance')}, open balances in the ledger {open_balances}")
    return problems


def collections_disagreements(collections: Report, recorded: Report, invoices: list[Invoice]) -> list[str]:
    """The collections file against the payments recorded in the ledger, and each invoice's status against
    what was collected on it: paid means its total was collected; unpaid means nothing was."""
    problems = []
    key = lambda row: (row["payment_id"], row["status"], row["amount"])  # noqa: E731
    written, ledger = sorted(map(key, collections.rows)), sorted(map(key, recorded.rows))
    if written != ledger:
        problems.append(f"collections lists {len(written)} payments ({collections.sum('amount')}), "
                        f"the ledger records {len(ledger)} ({recorded.sum('amount')})")
    collected: dict[str, Decimal] = {}
    for row in collections.rows:
        if row["status"] in COLLECTED:
            collected[row["invoice_id"]] = collected.get(row["invoice_id"], ZERO) + row["amount"]
    for invoice in sorted(invoices, key=lambda i: i.invoice_number):
        got = collected.get(invoice.invoice_id, ZERO)
        expected = invoice.total if invoice.status == "paid" and invoice.total > 0 else ZERO
        if got != expected:
            problems.append(f"{invoice.invoice_number} is {invoice.status} ({invoice.total}), collected {got}")
    return problems


STRIPE_CLOCK_MARGIN = timedelta(days=1)  # how far Stripe's clock may be behind ours, and then some


def stripe_payment_intents(client, since: datetime) -> dict[str, dict]:
    """Stripe's PaymentIntents by id, with their amount (cents), currency, status and the invoice their metadata
    names (every charge of billing/payments.py carries it), in pages of 100. `since`: when the first charge
    attempt of the month was recorded, before its PaymentIntent was created; those created from a day before it
    are listed (Stripe's `created` filter, on Stripe's clock), so the listing grows with the months after the
    closed one, not with the account's whole history."""
    params = {"limit": 100, "created": {"gte": int((since - STRIPE_CLOCK_MARGIN).timestamp())}}
    return {intent.id: {"amount": intent.amount, "currency": intent.currency, "status": intent.status,
                        "invoice_id": (intent.metadata.to_dict() if intent.metadata else {}).get("invoice_id")}
            for intent in client.v1.payment_intents.list(params=params).auto_paging_iter()}


def stripe_disagreements(collections: Report, intents: dict[str, dict], invoices: list[Invoice]) -> list[str]:
    """The collections file against Stripe: each succeeded charge's PaymentIntent exists in Stripe, succeeded,
    for the same amount and currency and the same invoice; and every PaymentIntent Stripe shows succeeded for an
    invoice of the month is listed as a succeeded charge."""
    month = {invoice.invoice_id: invoice for invoice in invoices}
    problems, listed = [], set()
    for row in collections.rows:
        if row["status"] != "succeeded":
            continue
        reference, invoice = row["reference"], month.get(row["invoice_id"])
        listed.add(reference)
        label = f"{row['payment_id']} ({reference or 'no PaymentIntent id'})"
        intent = intents.get(reference)
        if intent is None:
            problems.append(f"{label}: succeeded in the ledger, no such PaymentIntent in Stripe")
            continue
        if intent["status"] != "succeeded":
            problems.append(f"{label}: succeeded in the ledger, {intent['status']} in Stripe")
        if row["amount"] * 100 != intent["amount"]:
            problems.append(f"{label}: {row['amount']} in the ledger, {_from_cents(intent['amount'])} in Stripe")
        if invoice is not None and intent["currency"] != invoice.currency.lower():
            problems.append(f"{label}: in {invoice.currency} in the ledger, in {intent['currency']} in Stripe")
        if intent["invoice_id"] != row["invoice_id"]:
            problems.append(f"{label}: for {row['invoice_id']} in the ledger, for {intent['invoice_id']} in Stripe")
    for intent_id, intent in sorted(intents.items()):
        invoice = month.get(intent["invoice_id"])
        if intent["status"] == "succeeded" and invoice is not None and intent_id not in listed:
            problems.append(f"{intent_id}: Stripe collected {_from_cents(intent['amount'])} on {invoice.invoice_number}, "
                            "the collections do not list it as a succeeded charge")
    return problems


def _from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(ZERO)


def close_totals(reports: dict[str, Report]) -> dict:
    """The month's figures of the front sheet and the summary PDF, from the pack's reports (by name)."""
    register, aging = reports[REGISTER.name], reports[AR_AGING.name]
    return {
        "invoices": len(register.rows),
        "subtotal": register.sum("subtotal"),
        "tax": register.sum("tax"),
        "invoiced": register.sum("total"),
        "collected": reports[COLLECTIONS.name].sum("amount", lambda row: row["status"] in COLLECTED),
        "outstanding": aging.sum("balance"),
        "overdue": aging.sum("balance", lambda row: row["days_past_due"] > 0),
        "adjustments": reports[ADJUSTMENTS.name].sum("amount"),
        "changes": len(reports[CHANGES.name].rows),
        "quarantined_rows": len(reports[QUARANTINE.name].rows),
    }


DOCUMENTS = ("close_pack.xlsx", "close_summary.pdf")


def pack_listing(folder, period: str) -> list[dict]:
    """The pack's files in `folder` (reports/YYYY-MM) with their totals, read back from the files themselves."""
    if not (folder / REGISTER.file_name).exists():
        raise BillingError(f"no close pack for {period} in {folder}: run 'billing close --month {period}'")
    listing = []
    for template in TEMPLATES:
        path = folder / template.file_name
        totals = read_report(template, path.read_bytes()).totals() if path.exists() else None
        listing.append({"file": template.file_name, "path": str(path), "exists": path.exists(), "totals": totals})
    listing += [{"file": name, "path": str(folder / name), "exists": (folder / name).exists(),
                 "bytes": (folder / name).stat().st_size if (folder / name).exists() else None} for name in DOCUMENTS]
    return listing
