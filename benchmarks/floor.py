"""The least that ingesting a generated month can cost: bare DuckDB writes the two files of each arrival day
straight from its snapshot file, with no validation, dedup, quarantine or atomic publishing.

    uv run python benchmarks/floor.py benchmarks/data/10m
"""
import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

OPTIONS = "(FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1000)"
# One row per snapshot row with its dedup keys, as in partition_rows.sql.
ROWS = f"""
COPY (SELECT event_id, hash(event_id) AS event_key,
             hash(occurred_at, tenant_id, user_id, service, metric, workload, quantity) AS content_hash,
             file_row_number + 1 AS source_row
      FROM read_parquet($file, file_row_number = true)) TO $out {OPTIONS}
"""
# The day's usage summed at the grain of partition_usage.sql.
USAGE = f"""
COPY (SELECT occurred_at::DATE AS usage_day, tenant_id, user_id, service, metric, workload,
             sum(quantity) AS quantity, count(*) AS events
      FROM read_parquet($file) GROUP BY ALL) TO $out {OPTIONS}
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a folder made by benchmarks/generate.py")
    args = parser.parse_args()
    files = sorted(str(p) for p in (args.data / "snapshots").glob("dt=*/*.parquet"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    events = con.execute("SELECT count(*) FROM read_parquet($files)", {"files": files}).fetchall()[0][0]
    print(f"events                {events:>14,} in {len(files)} files")
    total = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for label, statement in (("snapshot rows file", ROWS), ("usage sums file", USAGE)):
            started, cpu = time.perf_counter(), cpu_seconds()
            for file in files:
                con.execute(statement, {"file": file, "out": f"{scratch}/out.parquet"}).fetchall()
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{label:<22}{seconds:>12.1f} s   {events / seconds:>12,.0f} events/s   cpu {cpu_seconds() - cpu:.1f} s")
    print(f"both                  {total:>12.1f} s   {events / total:>12,.0f} events/s")


if __name__ == "__main__":
    main()
