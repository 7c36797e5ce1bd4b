from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from tests.servers import MotoServer, PostgresServer

warnings.filterwarnings("ignore", message=".*is currently in beta.*")

# "Today" for every test: business dates never come from the wall clock (BILLING_NOW, see billing/settings.py).
NOW = "2026-11-29T12:00:00+00:00"
TODAY = date(2026, 11, 29)

COLUMNS = ["event_id", "occurred_at", "tenant_id", "user_id", "service", "metric", "workload", "quantity"]


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh, empty database for one test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:55]
    admin = sa.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return postgres_server.url(name)


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto_server, billing_home, monkeypatch):
    """A boto3 S3 client on a freshly reset moto server, with AWS_ENDPOINT_URL pointing there."""
    import boto3

    moto_server.reset()
    for name, value in {"AWS_ENDPOINT_URL": moto_server.url, "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=moto_server.url)


@pytest.fixture
def billing_home(tmp_path, monkeypatch):
    """An empty BILLING_HOME with nothing else configured."""
    home = tmp_path / "billing"
    for name in ("BILLING_SNAPSHOT_ROOT", "BILLING_LEDGER_URL", "BILLING_PRICE_BOOK", "BILLING_WAREHOUSE_DIR",
                 "DAGSTER_HOME", "AWS_ENDPOINT_URL", "STRIPE_API_KEY", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BILLING_HOME", str(home))
    monkeypatch.setenv("BILLING_NOW", NOW)
    return home


def tenant(tenant_id: str, plan: str = "professional", **extra) -> dict:
    document = {
        "tenant_id": tenant_id, "name": f"{tenant_id} Inc", "country": "US", "plan": plan,
        "contract_monthly_fee": 5000 if plan == "enterprise" else None, "tax_rate": 0,
        "payment_method": {"type": "card", "stripe_payment_method": "pm_card_visa"},
        "users": [{"user_id": f"{tenant_id}-u1", "name": "Ada", "email": "ada@example.com", "role": "tenant_admin"}],
    }
    document.update(extra)
    return document


def write_directory(path: Path, tenants: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"tenants": tenants}, sort_keys=False))
    return path


def event(event_id: str, occurred_at: str, tenant_id: str = "acme", metric: str = "llm_tokens", quantity="100",
          service: str | None = None, workload: str | None = None, user_id: str | None = "acme-u1") -> dict:
    default_service = {"llm_tokens": "ai_service", "sql_queries": "query_engine", "storage_gb": "query_engine",
                       "api_requests": "ai_service", "compute_minutes": "ai_service"}.get(metric, "ai_service")
    return {"event_id": event_id, "occurred_at": occurred_at, "tenant_id": tenant_id, "user_id": user_id,
            "service": service or default_service, "metric": metric, "workload": workload, "quantity": quantity}


def write_snapshot(root: Path, day: str, rows: list[dict], fmt: str = "csv", name: str = "part-0000") -> Path:
    """Write rows as text in the given format (csv, jsonl, or parquet with string columns)."""
    folder = Path(root) / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        lines = [",".join(COLUMNS)] + [",".join("" if r.get(c) is None else str(r[c]) for c in COLUMNS) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        table = pa.table({c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string()) for c in COLUMNS})
        pq.write_table(table, path)
    return path


@pytest.fixture
def day():
    return date.fromisoformat


class Metering:
    """Ledger, snapshots and warehouse under one BILLING_HOME, driven through the pure functions."""

    def __init__(self, home: Path, snapshot_root: str | None = None):
        from billing.settings import Settings

        env = {"BILLING_HOME": str(home), "BILLING_NOW": NOW}
        if snapshot_root:
            env["BILLING_SNAPSHOT_ROOT"] = snapshot_root
        import os

        env["AWS_ENDPOINT_URL"] = os.environ.get("AWS_ENDPOINT_URL", "")
        self.settings = Settings.from_env(env)
        self.root = Path(self.settings.snapshot_root) if not self.settings.snapshot_root.startswith("s3://") else None

    def import_tenants(self, *tenants: dict) -> None:
        from billing.directory import load_directory
        from billing.ledger import Ledger

        path = write_directory(self.settings.home / "directory.yaml", list(tenants))
        Ledger(self.settings.ledger_url).import_directory(load_directory(path), self.settings.today())

    def write(self, day: str, rows: list[dict], fmt: str = "csv", name: str = "part-0000") -> Path:
        return write_snapshot(self.root, day, rows, fmt, name)

    def ingest(self, *days: str, force: bool = True):
        from billing.ingest import ingest_days, prepare_ingest
        from billing.ledger import Ledger
        from billing.snapshots import SnapshotRoot
        from billing.warehouse import Warehouse

        tenant_ids = [t.tenant_id for t in Ledger(self.settings.ledger_url).tenants()]
        warehouse = Warehouse(self.settings.warehouse_dir)
        con = warehouse.connect()
        snapshots = SnapshotRoot(self.settings.snapshot_root, self.settings.aws_endpoint_url)
        prepare_ingest(con, snapshots, tenant_ids)
        results = []
        for batch in days if isinstance(days[0], list) else [[d] for d in days]:  # one day a call, or batches
            results += ingest_days(con, warehouse, snapshots, [date.fromisoformat(d) for d in batch], tenant_ids, force)
        return results[0] if len(results) == 1 else results

    def query(self, sql: str, *params):
        from billing.warehouse import Warehouse

        return Warehouse(self.settings.warehouse_dir).connect().execute(sql, list(params)).fetchall()

    def usage(self, tenant_id: str, period: str) -> dict:
        from billing.aggregate import live_monthly_totals
        from billing.ledger import Ledger
        from billing.metering import usage_metrics
        from billing.price_book import load_price_book
        from billing.warehouse import Warehouse

        con = Warehouse(self.settings.warehouse_dir).connect()
        totals = live_monthly_totals(con, period, tenant_id).get(tenant_id, {})
        return usage_metrics(Ledger(self.settings.ledger_url).tenant(tenant_id), period, totals,
                             load_price_book(self.settings.price_book))


@pytest.fixture
def metering(billing_home):
    m = Metering(billing_home)
    m.import_tenants(tenant("acme"), tenant("beta", plan="starter"), tenant("big", plan="enterprise"))
    return m


@pytest.fixture(scope="session")
def localstripe_server():
    from tests.servers import LocalStripe

    server = LocalStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_client(localstripe_server):
    """The official Stripe SDK against a freshly reset localstripe."""
    import stripe

    localstripe_server.reset()
    return stripe.StripeClient("sk_test_billing", base_addresses={"api": localstripe_server.url})


@pytest.fixture(scope="session")
def stripe_boundary_server():
    from tests.stripe_boundary import StripeBoundary

    server = StripeBoundary().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_boundary(stripe_boundary_server):
    """Stripe's documented wire responses for ACH debits and hard declines (see tests/stripe_boundary.py)."""
    stripe_boundary_server.reset()
    return stripe_boundary_server
