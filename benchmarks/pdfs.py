"""Invoice PDFs per second, rendered as the close renders them (a process per core).

    uv run python benchmarks/pdfs.py --invoices 400
"""
import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from functools import cache

from assets.invoice import PDF_WORKERS, _render
from billing.directory import Tenant
from billing.invoices import Invoice
from billing.pdf import UsageSummary, usage_summary
from billing.price_book import PriceBook, load_price_book
from billing.pricing import InvoiceLine
from billing.settings import Seller, Settings


@cache
def _price_book() -> PriceBook:
    return load_price_book(Settings.from_env().price_book)


def sample(n: int) -> tuple[Invoice, Tenant, UsageSummary, Seller]:
    # The base price and every overage a Professional plan can have: the longest invoice of the price book.
    lines = (InvoiceLine("Professional plan, 31/31 of the month", "base", Decimal(1), Decimal("499.00"), Decimal("499.00")),
             InvoiceLine("llm_tokens overage", "llm_tokens", Decimal(250_000), Decimal("0.000015"), Decimal("3.75")),
             InvoiceLine("sql_queries overage", "sql_queries", Decimal(250), Decimal("0.004"), Decimal("1.00")),
             InvoiceLine("storage_gb overage", "storage_gb", Decimal("0.5"), Decimal("0.20"), Decimal("0.10")),
             InvoiceLine("users overage", "users", Decimal(1), Decimal("12.00"), Decimal("12.00")),
             InvoiceLine("api_requests overage", "api_requests", Decimal(20_000), Decimal("0.0004"), Decimal("8.00")),
             InvoiceLine("compute_hours overage", "compute_hours", Decimal("0.5"), Decimal("0.50"), Decimal("0.25")))
    invoice = Invoice(f"in_{n:024d}", f"INV-{n:06d}", f"tenant-{n}", "2026-10", "final", "pending", "USD",
                      Decimal("524.10"), Decimal("0.08"), Decimal("41.93"), Decimal("566.03"), "card",
                      date(2026, 11, 1), date(2026, 11, 1), None, lines, ())
    tenant = Tenant(f"tenant-{n}", f"Tenant {n}", "US", "professional")
    totals = {"llm_tokens": Decimal(5_250_000), "sql_queries": Decimal(100_250), "storage_gb": Decimal("100.5"),
              "api_requests": Decimal(1_020_000), "compute_minutes": Decimal(6030)}
    return invoice, tenant, usage_summary(invoice, tenant, totals, _price_book()), Seller()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=400)
    args = parser.parse_args()
    jobs = [sample(n) for n in range(args.invoices)]
    with ProcessPoolExecutor(PDF_WORKERS) as pool:
        list(pool.map(_render, jobs[:PDF_WORKERS * 2]))  # warm the workers up
        started = time.perf_counter()
        sizes = [len(pdf) for pdf in pool.map(_render, jobs, chunksize=8)]
        seconds = time.perf_counter() - started
    print(f"invoice PDFs          {len(sizes):>10,}")
    print(f"workers               {PDF_WORKERS:>10}")
    print(f"time                  {seconds:>10.1f} s")
    print(f"rate                  {len(sizes) / seconds:>10.1f} PDFs/s")
    print(f"average size          {sum(sizes) / len(sizes) / 1024:>10.1f} KiB")


if __name__ == "__main__":
    main()
