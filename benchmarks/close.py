"""The whole month-end close on a generated month (benchmarks/generate.py): Dagster runs on embedded
defaults, with invoices, breakdowns and PDFs. Prints each step's time and invoice PDFs per second.

    uv run python benchmarks/close.py benchmarks/data/10m
"""
import time

from generate import fresh_home, import_directory, month_arguments


def main() -> None:
    args = month_arguments(__doc__.splitlines()[0])
    settings, ledger = fresh_home(args.data, "close-home")
    started = time.perf_counter()
    import_directory(ledger, args.data)
    imported = time.perf_counter()

    from billing_jobs.runner import close_month  # Dagster loads here, after the clock above

    close_month(settings, args.period)
    finished = time.perf_counter()
    import dagster as dg

    instance = dg.DagsterInstance.get()
    steps = {}
    for record in instance.get_run_records():
        for stats in instance.get_run_step_stats(record.dagster_run.run_id):
            steps[stats.step_key] = stats.end_time - stats.start_time
    tenants = len(ledger.tenants())
    print(f"tenants               {tenants:>12,}")
    print(f"directory import      {imported - started:>10.1f} s")
    print(f"close (ingest + month){finished - imported:>10.1f} s")
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
        print(f"  {step:<34}{seconds:>8.1f} s")
    if "invoice_pdfs" in steps:
        print(f"invoice PDFs          {tenants / steps['invoice_pdfs']:>10.1f} PDFs/s")


if __name__ == "__main__":
    main()
