"""The whole month-end close on a generated month (benchmarks/generate.py): Dagster runs on embedded
defaults, with invoices, breakdowns and PDFs. Prints each step's time and invoice PDFs per second.

    uv run python benchmarks/close.py benchmarks/data/10m
"""
import argparse
import os
import shutil
import time
from pathlib import Path

from billing.directory import load_directory
from billing.ledger import Ledger
from billing.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a folder made by benchmarks/generate.py")
    parser.add_argument("--period", default="2026-10")
    args = parser.parse_args()
    home = args.data / "close-home"
    shutil.rmtree(home, ignore_errors=True)
    os.environ.update(BILLING_HOME=str(home), BILLING_SNAPSHOT_ROOT=str(args.data / "snapshots"))
    settings = Settings.from_env()
    started = time.perf_counter()
    Ledger(settings.ledger_url).import_directory(load_directory(args.data / "directory.yaml"))
    imported = time.perf_counter()

    from billing_jobs.runner import close_month  # Dagster loads here, after the clock above

    marks = {}
    close_month(settings, args.period, lambda message: marks.setdefault(message.split()[0], time.perf_counter()))
    finished = time.perf_counter()
    import dagster as dg

    instance = dg.DagsterInstance.get()
    steps = {}
    for record in instance.get_run_records():
        for stats in instance.get_run_step_stats(record.dagster_run.run_id):
            steps[stats.step_key] = stats.end_time - stats.start_time
    tenants = len(Ledger(settings.ledger_url).tenants())
    print(f"tenants               {tenants:>12,}")
    print(f"directory import      {imported - started:>10.1f} s")
    print(f"close (ingest + month){finished - imported:>10.1f} s")
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
        print(f"  {step:<34}{seconds:>8.1f} s")
    if "invoice_pdfs" in steps:
        print(f"invoice PDFs          {tenants / steps['invoice_pdfs']:>10.1f} PDFs/s")


if __name__ == "__main__":
    main()
