"""Generate a synthetic month of usage snapshots at scale: typed Parquet, one file per day.

    uv run python benchmarks/generate.py --events 10000000 --tenants 10000 --out benchmarks/data/10m
"""
import argparse
import calendar
import os
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import yaml

from billing.directory import load_directory
from billing.ledger import Ledger
from billing.settings import Settings

GENERATE = """
COPY (
    SELECT 'ev-' || i AS event_id,
           $day::TIMESTAMPTZ + to_microseconds((hash(i, 'at') % 86400000000)::BIGINT) AS occurred_at,
           'tenant-' || lpad((hash(i, 'tenant') % $tenants)::VARCHAR, 5, '0') AS tenant_id,
           CASE WHEN i % 10 = 9 THEN NULL ELSE 'user-' || (hash(i, 'user') % 5) END AS user_id,
           ['ai_service', 'query_engine', 'ai_service', 'ai_service', 'ml_service', 'ml_service',
            'query_engine', 'ai_service', 'query_engine', 'query_engine'][i % 10 + 1] AS service,
           ['llm_tokens', 'sql_queries', 'api_requests', 'compute_minutes', 'compute_minutes', 'compute_minutes',
            'api_requests', 'llm_tokens', 'sql_queries', 'storage_gb'][i % 10 + 1] AS metric,
           CASE i % 10 WHEN 4 THEN 'training' WHEN 5 THEN 'serving' END AS workload,
           (hash(i, 'q') % 100000 / 100)::DECIMAL(18, 3) AS quantity
    FROM range($first, $last) AS t(i)
) TO $path (FORMAT parquet, COMPRESSION zstd)
"""


def generate(out: Path, events: int, tenants: int, period: str) -> None:
    year, month = map(int, period.split("-"))
    days = calendar.monthrange(year, month)[1]
    out.mkdir(parents=True, exist_ok=True)
    directory = [{"tenant_id": f"tenant-{n:05d}", "name": f"Tenant {n}", "country": "US",
                  "plan": ("starter", "professional", "enterprise")[n % 3],
                  "contract_monthly_fee": 5000 if n % 3 == 2 else None,
                  "payment_method": {"type": "card", "stripe_payment_method": "pm_card_visa"},
                  "users": [{"user_id": f"user-{u}", "name": f"User {u}", "email": f"u{u}@t{n}.example",
                             "role": "member"} for u in range(5)]} for n in range(tenants)]
    (out / "directory.yaml").write_text(yaml.safe_dump({"tenants": directory}, sort_keys=False))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    per_day = events // days
    for day in range(days):
        folder = out / "snapshots" / f"dt={period}-{day + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        last = events if day == days - 1 else (day + 1) * per_day
        con.execute(GENERATE, {"day": f"{period}-{day + 1:02d}", "tenants": tenants, "first": day * per_day,
                               "last": last, "path": str(folder / "part-0000.parquet")})


def month_arguments(description: str) -> argparse.Namespace:
    """The arguments of the benchmarks that run a generated month."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data", type=Path, help="a folder made by benchmarks/generate.py")
    parser.add_argument("--period", default="2026-10")
    return parser.parse_args()


def fresh_home(data: Path, name: str) -> tuple[Settings, Ledger]:
    """An empty BILLING_HOME under the generated month, with its snapshots and an empty ledger. It is also
    set in the environment, where the Dagster resources read it."""
    home = data / name
    shutil.rmtree(home, ignore_errors=True)
    os.environ.update(BILLING_HOME=str(home), BILLING_SNAPSHOT_ROOT=str(data / "snapshots"))
    settings = Settings.from_env()
    return settings, Ledger(settings.ledger_url)


def import_directory(ledger: Ledger, data: Path) -> None:
    ledger.import_directory(load_directory(data / "directory.yaml"), date.today())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    generate(args.out, args.events, args.tenants, args.period)
    print(f"generated {args.events:,} events for {args.tenants:,} tenants in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
