"""Ingest and aggregate a generated month; print events/s and the aggregation time against bare DuckDB.

    uv run python benchmarks/run.py benchmarks/data/10m
"""
import time

import duckdb

from billing.aggregate import compute_monthly_usage, compute_storage_peaks, write_daily_usage
from billing.ingest import ingest_days, prepare_ingest
from billing.snapshots import SnapshotRoot
from billing.warehouse import Warehouse
from generate import fresh_home, import_directory, month_arguments

BARE = """
CREATE OR REPLACE TEMP TABLE bare AS
SELECT occurred_at::DATE AS day, tenant_id, service, metric, workload, user_id, sum(quantity) AS quantity
FROM read_parquet($files) GROUP BY ALL
"""


def main() -> None:
    args = month_arguments(__doc__.splitlines()[0])
    settings, ledger = fresh_home(args.data, "home")
    import_directory(ledger, args.data)
    tenant_ids = [t.tenant_id for t in ledger.tenants()]

    warehouse = Warehouse(settings.warehouse_dir)
    snapshots = SnapshotRoot(settings.snapshot_root)
    con = warehouse.connect()
    prepare_ingest(con, snapshots, tenant_ids)
    started = time.perf_counter()
    results = ingest_days(con, warehouse, snapshots, snapshots.days(), tenant_ids)
    ingest_seconds = time.perf_counter() - started
    events = sum(r.rows_read for r in results)

    started = time.perf_counter()
    con = warehouse.connect()
    write_daily_usage(con, warehouse, args.period)
    compute_storage_peaks(con)
    compute_monthly_usage(con)
    for dataset, table in (("storage_peaks", "month_storage_peaks"), ("monthly_usage", "month_usage")):
        warehouse.write_partition(con, dataset, args.period, {"rows": con.table(table)})
    aggregate_seconds = time.perf_counter() - started

    files = sorted(str(p) for p in (args.data / "snapshots").glob("dt=*/*.parquet"))
    bare = duckdb.connect()
    bare.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    bare.execute(BARE, {"files": files})
    bare_seconds = time.perf_counter() - started

    print(f"events                {events:>14,}")
    print(f"accepted              {sum(r.accepted for r in results):>14,}")
    print(f"ingest                {ingest_seconds:>12.1f} s   {events / ingest_seconds:>12,.0f} events/s")
    print(f"month aggregation     {aggregate_seconds:>12.1f} s")
    print(f"bare DuckDB GROUP BY  {bare_seconds:>12.1f} s")
    print(f"aggregation / bare    {aggregate_seconds / bare_seconds:>12.2f} x")


if __name__ == "__main__":
    main()
