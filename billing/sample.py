"""A realistic sample month: a tenant directory and daily usage snapshots in all three formats.

Deterministic for a given month and seed. It includes what production sends too: duplicates
re-sent in the next day's drop, late events, offsets other than UTC, and a few broken rows.
"""
from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from billing.directory import month_days
from billing.price_book import PriceBook

COUNTRIES = ["US", "US", "US", "DE", "GB", "FR", "JP", "CA"]
FIRST_NAMES = ["Ada", "Bob", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Mo", "Ned", "Oz"]
COLUMNS = ["event_id", "occurred_at", "tenant_id", "user_id", "service", "metric", "workload", "quantity"]


def _tenants(rng: random.Random, period: str, count: int) -> list[dict]:
    first = month_days(period)[0]
    tenants = []
    for index in range(count):
        plan = ("starter", "professional", "enterprise")[0 if index % 9 < 4 else 1 if index % 9 < 7 else 2]
        tenant_id = f"{plan[:3]}-{index:03d}"
        country = rng.choice(COUNTRIES)
        payment = {"type": "card", "stripe_payment_method": "pm_card_visa"}
        if plan == "enterprise":
            payment = {"type": rng.choice(["invoice", "wire", "card"])}
            if payment["type"] == "card":
                payment["stripe_payment_method"] = "pm_card_visa"
        seat_limit = {"starter": 5, "professional": 25, "enterprise": 60}[plan]
        users = [
            {
                "user_id": f"{tenant_id}-u{n}",
                "name": f"{rng.choice(FIRST_NAMES)} {chr(65 + n % 26)}.",
                "email": f"user{n}@{tenant_id}.example",
                "role": "tenant_admin" if n == 1 else "billing_contact" if n == 2 else "member",
                **({"phone": f"+1555{index:03d}{n:04d}"} if n <= 2 else {}),
            }
            for n in range(1, rng.randint(max(2, seat_limit - 3), seat_limit + 2) + 1)
        ]
        tenant = {
            "tenant_id": tenant_id,
            "name": f"{tenant_id.title()} Labs",
            "country": country,
            "plan": plan,
            "contract_monthly_fee": rng.choice([2500, 4000, 7500]) if plan == "enterprise" else None,
            "tax_rate": rng.choice([0, 0, 0.08, 0.2]),
            "payment_method": payment,
            "users": users,
        }
        if index % 11 == 3 and plan == "professional":  # upgraded mid-month
            tenant["plan_changes"] = [
                {"plan": "starter", "effective": (first - timedelta(days=90)).isoformat()},
                {"plan": "professional", "effective": (first + timedelta(days=9)).isoformat()},
            ]
        if index % 4 == 0:
            tenant["budgets"] = [{"amount_usd": 600 if plan != "enterprise" else 9000, "channels": ["email", "in_app"]}]
        tenants.append(tenant)
    return tenants


def _usage_rows(rng: random.Random, tenant: dict, period: str, price_book: PriceBook) -> list[dict]:
    """A month of events for one tenant, at a random share of its plan's limits."""
    included = price_book.plan(tenant["plan"]).included
    volume = lambda metric, fallback: float(included[metric] or fallback) * rng.uniform(0.4, 1.25)  # noqa: E731
    monthly = {
        "llm_tokens": volume("llm_tokens", 15_000_000),
        "sql_queries": volume("sql_queries", 300_000),
        "api_requests": volume("api_requests", 3_000_000),
        "compute_minutes": volume("compute_hours", 300) * 60,
    }
    storage_peak = volume("storage_gb", 500)
    users = [user["user_id"] for user in tenant["users"]]
    days = month_days(period)
    rows = []
    for day_index, day in enumerate(days):
        midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        at = lambda: midnight + timedelta(seconds=rng.randint(0, 86_399))  # noqa: E731
        for metric, service, workload in (
            ("llm_tokens", "ai_service", None), ("sql_queries", "query_engine", None),
            ("api_requests", rng.choice(["ai_service", "query_engine", "ml_service"]), None),
            ("compute_minutes", "ai_service", None), ("compute_minutes", "ml_service", "training"),
            ("compute_minutes", "ml_service", "serving"),
        ):
            share = monthly[metric] / len(days) / (3 if metric == "compute_minutes" else 1)
            for _ in range(2):
                rows.append({"occurred_at": at(), "user_id": rng.choice(users), "service": service, "metric": metric,
                             "workload": workload, "quantity": Decimal(round(share / 2 * rng.uniform(0.5, 1.5)))})
        growth = storage_peak * (0.7 + 0.3 * day_index / (len(days) - 1))
        for _ in range(4):
            rows.append({"occurred_at": at(), "user_id": None, "service": "query_engine", "metric": "storage_gb",
                         "workload": None, "quantity": Decimal(str(round(growth * rng.uniform(0.97, 1.0), 2)))})
    for number, row in enumerate(sorted(rows, key=lambda r: r["occurred_at"])):
        row.update(event_id=f"{tenant['tenant_id']}-{period}-{number:06d}", tenant_id=tenant["tenant_id"])
    return rows


def _write_day(folder: Path, rows: list[dict], rng: random.Random) -> None:
    """One day's drop split over a Parquet, a CSV and a JSON Lines file (intraday drops)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng.shuffle(rows)
    # Rows with a timestamp that is not one (the broken samples) can only travel as text.
    rows.sort(key=lambda r: not isinstance(r["occurred_at"], datetime))
    third = len(rows) // 3
    parquet_rows, csv_rows, json_rows = rows[:third], rows[third:2 * third], rows[2 * third:]
    table = pa.table({
        "event_id": [r["event_id"] for r in parquet_rows],
        "occurred_at": pa.array([r["occurred_at"] for r in parquet_rows], pa.timestamp("us", tz="UTC")),
        "tenant_id": [r["tenant_id"] for r in parquet_rows],
        "user_id": [r["user_id"] for r in parquet_rows],
        "service": [r["service"] for r in parquet_rows],
        "metric": [r["metric"] for r in parquet_rows],
        "workload": [r["workload"] for r in parquet_rows],
        "quantity": pa.array([r["quantity"] for r in parquet_rows], pa.decimal128(18, 2)),
    })
    pq.write_table(table, folder / "part-0000.parquet")
    with open(folder / "part-0001.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for r in csv_rows:  # local time at +01:00, as one exporter sends it
            stamp = r["occurred_at"].astimezone(timezone(timedelta(hours=1))).isoformat()
            writer.writerow([r["event_id"], stamp, r["tenant_id"], r["user_id"] or "", r["service"], r["metric"],
                             r["workload"] or "", r["quantity"]])
    with open(folder / "part-0002.jsonl", "w", encoding="utf-8") as out:
        for r in json_rows:
            stamp = r["occurred_at"].isoformat().replace("+00:00", "Z") if isinstance(r["occurred_at"], datetime) else r["occurred_at"]
            out.write(json.dumps({**r, "occurred_at": stamp, "quantity": str(r["quantity"])}) + "\n")


def generate_sample(period: str, snapshot_root: Path, directory_file: Path, price_book: PriceBook,
                    tenants: int = 60, seed: int = 7) -> dict:
    rng = random.Random(f"{seed}-{period}")
    directory = _tenants(rng, period, tenants)
    directory_file.parent.mkdir(parents=True, exist_ok=True)
    directory_file.write_text(yaml.safe_dump({"tenants": directory}, sort_keys=False))
    days = month_days(period)
    by_day: dict = {day: [] for day in days + [days[-1] + timedelta(days=1)]}
    for tenant in directory:
        for row in _usage_rows(rng, tenant, period, price_book):
            by_day[row["occurred_at"].date()].append(row)
    # What production sends too: re-sent duplicates, late events, and a few broken rows.
    extras = {"duplicates": 0, "late": 0, "broken": 0}
    for day in days:
        today, tomorrow = by_day[day], by_day[day + timedelta(days=1)]
        for row in rng.sample(today, 3):
            tomorrow.append(dict(row))
            extras["duplicates"] += 1
        late = [row for row in today if row["occurred_at"].hour == 23][:2]
        for row in late:
            today.remove(row)
            tomorrow.append(row)
            extras["late"] += 1
    broken = [
        {"tenant_id": "no-such-tenant"}, {"quantity": Decimal("-5")}, {"metric": "gpu_seconds"},
        {"occurred_at": "yesterday"}, {"service": "billing_service"},
    ]
    for number, change in enumerate(broken):
        row = dict(by_day[days[number * 5]][0], event_id=f"broken-{period}-{number}", **change)
        by_day[days[number * 5]].append(row)
        extras["broken"] += 1
    events = 0
    for day, rows in by_day.items():
        if rows:
            _write_day(Path(snapshot_root) / f"dt={day.isoformat()}", rows, rng)
            events += len(rows)
    return {"tenants": len(directory), "rows": events, "days": len([d for d in by_day if by_day[d]]), **extras}
