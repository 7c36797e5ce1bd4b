"""The Dagster side: partitioned materializations, reruns, the drop sensor, PostgreSQL instance storage."""
import json
from pathlib import Path

import dagster as dg
import pytest

from assets.aggregate import daily_usage, monthly_usage, monthly_usage_reconciles
from assets.ingest import usage_events
from assets.report import usage_metrics
from billing_jobs.definitions import defs
from billing_jobs.sensors import snapshot_drop_sensor
from resources import BillingStore
from tests.conftest import Metering, event, tenant

MONTHLY = [daily_usage, monthly_usage, monthly_usage_reconciles, usage_metrics]


@pytest.fixture
def store(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"), tenant("big", plan="enterprise"))
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="400"),
                                  event("x1", "2026-10-01T10:00:00Z", tenant_id="ghost")])
    metering.write("2026-10-02", [event("e1", "2026-10-01T10:00:00Z", quantity="400"),
                                  event("e2", "2026-10-02T10:00:00Z", metric="sql_queries", quantity="25")], "jsonl")
    metering.write("2026-11-01", [event("late", "2026-10-31T23:00:00Z", quantity="100")], "parquet")
    return metering


def run_close(store, instance, period="2026-10"):
    resources = {"billing": BillingStore(billing_home=str(store.settings.home))}
    for day in ("2026-10-01", "2026-10-02", "2026-11-01"):
        assert dg.materialize([usage_events], partition_key=day, resources=resources, instance=instance).success
    return dg.materialize(MONTHLY, partition_key=period, resources=resources, instance=instance)


def test_close_materializes_partitions_with_operator_metadata(store):
    with dg.instance_for_test() as instance:
        result = run_close(store, instance)
        assert result.success
        [check] = result.get_asset_check_evaluations()
        assert check.passed
        ingest = instance.get_latest_materialization_event(dg.AssetKey("usage_events"))
        assert ingest.dagster_event.partition == "2026-11-01"
        day_one = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("usage_events"), asset_partitions=["2026-10-01"]), limit=1
        ).records[0].asset_materialization.metadata
        assert (day_one["rows_read"].value, day_one["accepted"].value, day_one["quarantined"].value) == (2, 1, 1)
        assert day_one["quarantined: unknown tenant"].value == 1
        assert "| 2026-10-01 | 1 | 2 | 1 | 0 | 1 |" in day_one["days"].value
    report = json.loads((store.settings.reports_dir / "2026-10" / "usage_metrics.json").read_text())
    acme = next(r for r in report if r["tenant_id"] == "acme")
    assert acme["llm_tokens"] == {"used": 500, "limit": 5000000, "percentage": 0.01}
    assert acme["queries"]["used"] == 25
    big = next(r for r in report if r["tenant_id"] == "big")
    assert big["llm_tokens"] == {"used": 0, "limit": None, "percentage": None}


def test_rerunning_a_month_gives_identical_outputs(store):
    with dg.instance_for_test() as instance:
        run_close(store, instance)
        files = ["daily_usage/2026-10/rows.parquet", "storage_peaks/2026-10/rows.parquet", "monthly_usage/2026-10/rows.parquet"]
        before = {name: store.query(f"SELECT * FROM '{store.settings.warehouse_dir / name}' ORDER BY ALL") for name in files}
        report = (store.settings.reports_dir / "2026-10" / "usage_metrics.json").read_bytes()
        run_close(store, instance)
        after = {name: store.query(f"SELECT * FROM '{store.settings.warehouse_dir / name}' ORDER BY ALL") for name in files}
        assert after == before and before["monthly_usage/2026-10/rows.parquet"]
        assert (store.settings.reports_dir / "2026-10" / "usage_metrics.json").read_bytes() == report


def test_a_partition_range_is_ingested_in_one_run(store):
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("ingest_usage")
        result = job.execute_in_process(instance=instance, tags={
            "dagster/asset_partition_range_start": "2026-10-01", "dagster/asset_partition_range_end": "2026-11-01"})
        assert result.success
        partitions = instance.get_materialized_partitions(dg.AssetKey("usage_events"))
        assert {"2026-10-01", "2026-10-02", "2026-10-31", "2026-11-01"} <= partitions
    assert store.query("SELECT count(*) FROM usage_events") == [(3,)]


def test_the_drop_sensor_requests_each_changed_day_once(store, monkeypatch):
    monkeypatch.setenv("BILLING_NOW", "2026-11-01T12:00:00Z")
    resources = {"billing": BillingStore(billing_home=str(store.settings.home))}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        first = snapshot_drop_sensor(context)
        keys = sorted(r.partition_key for r in first.run_requests)
        assert keys == ["2026-10-01", "2026-10-02", "2026-11-01"]
        assert all(r.run_key.startswith(r.partition_key + ":") for r in first.run_requests)

        store.ingest("2026-10-01", "2026-10-02", "2026-11-01")
        assert snapshot_drop_sensor(dg.build_sensor_context(instance=instance, resources=resources)).run_requests == []

        store.write("2026-11-01", [event("drop2", "2026-11-01T11:00:00Z")], "csv", "part-0001")
        [again] = snapshot_drop_sensor(dg.build_sensor_context(instance=instance, resources=resources)).run_requests
        assert again.partition_key == "2026-11-01" and again.run_key not in {r.run_key for r in first.run_requests}


def test_materialization_on_the_documented_postgresql_instance(store, postgres_url, tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url
    import shutil
    import sqlalchemy as sa

    url = make_url(postgres_url)
    for name, value in {"DAGSTER_PG_USERNAME": url.username, "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_HOST": url.host,
                        "DAGSTER_PG_DB": url.database, "DAGSTER_PG_PORT": str(url.port)}.items():
        monkeypatch.setenv(name, value)
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy("deploy/dagster.yaml", dagster_home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert run_close(store, instance).success
        assert instance.get_latest_materialization_event(dg.AssetKey("usage_metrics")).dagster_event.partition == "2026-10"
    with sa.create_engine(postgres_url).connect() as con:
        assert con.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 4


def test_definitions_load_from_the_workspace():
    defs.resolve_all_job_defs()
    assert {s.name for s in defs.schedules} == {"ingest_usage_schedule", "month_end_close_schedule", "deliver_alerts_schedule",
                                              "collect_payments_schedule"}
    assert {s.name for s in defs.sensors} == {"snapshot_drop_sensor", "usage_alert_sensor", "notify_operators_of_failure",
                                            "ach_settlement_sensor", "undelivered_alerts_sensor"}
    assert Path("workspace.yaml").exists()
