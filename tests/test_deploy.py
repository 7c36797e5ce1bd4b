"""deploy/: the production configuration runs. dagster-webserver and dagster-daemon start on a real PostgreSQL with
deploy/dagster.yaml and the variables of deploy/billing.env.example; a schedule tick and a sensor tick launch runs
through the run queue, and the runs succeed. The units start the documented commands with that one file."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from configparser import ConfigParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from billing.directory import load_directory
from billing.ledger import Ledger
from tests.conftest import NOW, TODAY, event, tenant, write_directory, write_snapshot
from tests.servers import free_port

DEPLOY = Path("deploy")
BIN = Path(sys.executable).parent
RUNS = """{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } }
            instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"""


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())["data"]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    # Its own process group: the daemon's code server and runs are stopped with it.
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def production(postgres_url, postgres_server, tmp_path):
    """The example environment file with this machine's values: PostgreSQL for the Dagster instance and the
    ledger, local folders for snapshots and PDFs, no AWS or Stripe."""
    ledger_url = postgres_server.url(make_url(postgres_url).database + "_ledger")
    admin = sa.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(ledger_url).database}"')
        con.exec_driver_sql(f'CREATE DATABASE "{make_url(ledger_url).database}"')
    admin.dispose()
    url, home = make_url(postgres_url), tmp_path / "billing"
    values = {
        "BILLING_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
        "BILLING_SNAPSHOT_ROOT": str(home / "snapshots"), "BILLING_OBJECT_STORE": str(home / "objects"),
        "BILLING_LEDGER_URL": ledger_url,
        "DAGSTER_PG_HOST": url.host, "DAGSTER_PG_PORT": str(url.port), "DAGSTER_PG_DB": url.database,
        "DAGSTER_PG_USERNAME": url.username, "DAGSTER_PG_PASSWORD": "",
        "BILLING_ALERT_TRANSPORT": "files", "BILLING_DAGSTER_URL": "http://127.0.0.1:3000",
        "STRIPE_API_KEY": "", "STRIPE_API_BASE": "",
    }
    example = env_file(DEPLOY / "billing.env.example")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BILLING_", "DAGSTER_", "STRIPE_"))}
    env.update({**example, **values, "BILLING_NOW": NOW})
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    directory = write_directory(home / "directory.yaml", [tenant("acme")])
    Ledger(ledger_url).import_directory(load_directory(directory), TODAY)
    return env, home


def test_the_example_environment_sets_what_the_units_and_the_instance_read():
    example = env_file(DEPLOY / "billing.env.example")
    dagster_yaml = (DEPLOY / "dagster.yaml").read_text()
    assert {name for name in example if name.startswith("DAGSTER_PG_")} == {
        name for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME",
                          "DAGSTER_PG_PASSWORD") if f"env: {name}" in dagster_yaml}
    assert {"BILLING_HOME", "DAGSTER_HOME", "BILLING_LEDGER_URL", "BILLING_SNAPSHOT_ROOT", "BILLING_OBJECT_STORE",
            "STRIPE_API_KEY", "STRIPE_API_BASE", "BILLING_ALERT_SENDER", "BILLING_OPERATOR_EMAIL"} <= example.keys()
    commands = {}
    for unit in ("dagster-webserver", "dagster-daemon", "billing-api"):
        parser = ConfigParser(interpolation=None, strict=False)
        parser.read(DEPLOY / f"{unit}.service")
        assert parser["Service"]["EnvironmentFile"] == "/etc/billing/billing.env"
        commands[unit] = parser["Service"]["ExecStart"].split()
    assert commands["dagster-daemon"][1:] == ["run", "-w", "/opt/billing/workspace.yaml"]
    assert commands["dagster-webserver"][1:] == ["-w", "/opt/billing/workspace.yaml", "-h", "127.0.0.1", "-p", "3000"]
    assert commands["billing-api"][1] == "serve"


def test_webserver_and_daemon_run_a_schedule_tick_and_a_sensor_tick_on_postgresql(production, tmp_path):
    env, home = production
    write_snapshot(home / "snapshots", "2026-11-28", [event("e1", "2026-11-28T10:00:00Z", quantity="400")])
    port = free_port()
    workspace = ["-w", "tests/deploy/workspace.yaml"]
    # The daemon first: its schedule tick at the next minute is what the test waits for (about a minute).
    daemon = start([str(BIN / "dagster-daemon"), "run", *workspace], env, tmp_path / "daemon.log")
    webserver = start([str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)], env,
                      tmp_path / "webserver.log")
    url, launched = f"http://127.0.0.1:{port}", {}
    try:
        deadline = time.monotonic() + 150  # starting (slow on a busy machine), the next minute, the run
        while time.monotonic() < deadline and not (len(launched) == 2 and all(
                run["status"] == "SUCCESS" for run in launched.values())):
            time.sleep(2)
            try:
                data = graphql(url, RUNS)
            except OSError:
                continue  # still starting
            for run in data["runsOrError"]["results"]:
                tags = {tag["key"]: tag["value"] for tag in run["tags"]}
                for origin in ("dagster/schedule_name", "dagster/sensor_name"):
                    if origin in tags:
                        launched.setdefault((tags[origin], run["jobName"]), run).update(run)
            assert not any(run["status"] == "FAILURE" for run in launched.values()), (tmp_path / "daemon.log").read_text()
        health = {d["daemonType"]: d["healthy"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]
                  if d["required"]}
    finally:
        stop(daemon)
        stop(webserver)
    statuses = {origin: run["status"] for origin, run in launched.items()
                if origin[0] in ("deliver_alerts_every_minute", "snapshot_drop_sensor")}
    assert statuses == {("deliver_alerts_every_minute", "deliver_alerts"): "SUCCESS",
                        ("snapshot_drop_sensor", "ingest_usage"): "SUCCESS"}, (tmp_path / "daemon.log").read_text()[-3000:]
    assert health["SCHEDULER"] and health["SENSOR"] and health["QUEUED_RUN_COORDINATOR"]
    assert (home / "warehouse" / "events" / "2026-11-28").exists()  # the runs share BILLING_HOME with the CLI
