"""The finance close pack on a large month: a ledger of N tenants invoiced for four months (a third of the
invoices paid), one small snapshot day with a quarantined row; times the finance assets and checks as the close
runs them (Dagster, in process) and prints each step.

    uv run python benchmarks/finance.py --tenants 10000
"""
import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import yaml

from billing.directory import parse_directory
from billing.ingest import ingest_days, prepare_ingest
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.payments import Payments
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings
from billing.snapshots import SnapshotRoot
from billing.warehouse import Warehouse

MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10")
NOW = "2026-11-29T12:00:00Z"


def directory(tenants: int) -> str:
    return yaml.safe_dump({"tenants": [
        {"tenant_id": f"tenant-{n:05d}", "name": f"Tenant {n}", "country": "US",
         "plan": ("starter", "professional", "enterprise")[n % 3],
         "contract_monthly_fee": 5000 if n % 3 == 2 else None,
         "payment_method": {"type": "wire"} if n % 3 == 2 else {"type": "card", "stripe_payment_method": "pm_card_visa"},
         "users": [{"user_id": f"user-{n}", "name": "User", "email": f"u@t{n}.example", "role": "member"}]}
        for n in range(tenants)]})


def prepare(home: Path, tenants: int) -> Settings:
    os.environ.update(BILLING_HOME=str(home), BILLING_NOW=NOW, STRIPE_API_KEY="", STRIPE_API_BASE="")
    settings = Settings.from_env()
    ledger = Ledger(settings.ledger_url)
    ledger.import_directory(parse_directory(directory(tenants)), settings.today())
    book, price_book = InvoiceBook(ledger), load_price_book(settings.price_book)
    closed = datetime(2026, 11, 3, 2, tzinfo=timezone.utc)
    everyone = ledger.tenants()
    for period in MONTHS:
        book.record_all([(t, rate(t, period, {"sql_queries": Decimal(100_000 + n % 500)}, price_book))
                         for n, t in enumerate(everyone)], closed)
    payments = Payments(book, None)
    for period in MONTHS[:-1]:  # the wires of the earlier months arrived
        for invoice in book.of_period(period):
            if invoice.payment_method_type == "wire":
                payments.mark_paid(invoice, f"WIRE-{invoice.invoice_number}", "benchmark", closed)
    day = Path(settings.snapshot_root) / "dt=2026-10-01"
    day.mkdir(parents=True)
    (day / "part-0000.csv").write_text(
        "event_id,occurred_at,tenant_id,user_id,service,metric,workload,quantity\n"
        "e1,2026-10-01T10:00:00Z,tenant-00000,,ai_service,llm_tokens,,100\n"
        "x1,2026-10-01T10:00:00Z,ghost,,ai_service,llm_tokens,,100\n")
    warehouse = Warehouse(settings.warehouse_dir)
    con, snapshots = warehouse.connect(), SnapshotRoot(settings.snapshot_root, None)
    ids = [t.tenant_id for t in everyone]
    prepare_ingest(con, snapshots, ids)
    ingest_days(con, warehouse, snapshots, [datetime(2026, 10, 1).date()], ids, True)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="finance-bench-"))
    try:
        started = time.perf_counter()
        prepare(home, args.tenants)
        prepared = time.perf_counter()
        import dagster as dg

        from assets.finance import FINANCE_ASSETS, FINANCE_CHECKS
        from resources import BillingStore, StripeResource

        with dg.instance_for_test() as instance:
            began, cpu_began = time.perf_counter(), time.process_time()
            result = dg.materialize([*FINANCE_ASSETS, *FINANCE_CHECKS], partition_key="2026-10", instance=instance,
                                    resources={"billing": BillingStore(), "stripe": StripeResource()})
            finished, cpu_finished = time.perf_counter(), time.process_time()
            assert result.success
            steps = {stats.step_key: stats.end_time - stats.start_time
                     for stats in instance.get_run_step_stats(result.run_id)}
        print(f"tenants               {args.tenants:>10,}  ({len(MONTHS)} months of invoices)")
        print(f"ledger prepared       {prepared - started:>10.1f} s")
        print(f"finance pack          {finished - began:>10.1f} s  (CPU {cpu_finished - cpu_began:.1f} s)")
        for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            print(f"  {step:<44}{seconds:>8.1f} s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
