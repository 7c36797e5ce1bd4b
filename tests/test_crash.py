"""Crash recovery (issue 14): a killed command never blocks or corrupts the next one.

Kills come from BILLING_CRASH_AT=<name> (billing/crash.py): the process SIGKILLs itself at that point."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import dagster as dg
import sqlalchemy as sa

from billing.ledger import Ledger
from billing.sql import statements
from tests.conftest import NOW, event, tenant, write_directory, write_snapshot
from tests.test_alerts import alert_book, fire, moto_data  # noqa: F401 - alert_book is a fixture
from tests.test_cli import BILLING, billing, fails, ok

KILLED = -signal.SIGKILL


def test_a_kill_during_the_first_migration_leaves_a_usable_ledger(tmp_path):
    home = tmp_path / "home"
    directory = write_directory(tmp_path / "d.yaml", [tenant("acme")])
    # Killed after `tenants` was created, before the rest of the first migration.
    crashed = billing("tenants", "import", str(directory), home=home,
                      BILLING_CRASH_AT="migration 0001_directory statement 1")
    assert crashed.returncode == KILLED
    with sqlite3.connect(home / "ledger.sqlite") as con:  # nothing of the migration stayed
        assert con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
    assert ok("tenants", "import", str(directory), home=home)["tenants_added"] == 1


def test_a_migration_half_applied_by_an_older_version_is_finished(tmp_path):
    """Before migrations were atomic, pysqlite committed each CREATE by itself: a kill left some tables."""
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(statements("ledger/migrations/0001_directory")[0])
    ledger = Ledger(f"sqlite:///{path}")
    assert ledger.migrate()[0] == "0001_directory"
    assert ledger.tenants() == []


def _crash_points() -> list[str]:
    """Every step of the three runs of `billing close` (its assets and checks), and the moment between an alert's
    send and its record, which comes before the alerts' step is killed at its start."""
    from billing_jobs.definitions import defs

    steps = [node.name for job in ("ingest_usage", "month_end_close", "evaluate_alerts")
             for node in defs.resolve_job_def(job).graph.nodes]
    return [*steps[:-1], "alert delivery sent", steps[-1]]


CRASH_POINTS = _crash_points()
RERUN_SECONDS = 120  # a rerun never waits on a dead run's slot (it would wait BILLING_POOL_WAIT_SECONDS, then fail)


def _month(home, tmp_path, env):
    acme = tenant("acme", plan="starter", users=[
        {"user_id": "a", "name": "Ada", "email": "ada@acme.example", "role": "tenant_admin", "phone": "+15550100001"}])
    ok("tenants", "import", str(write_directory(tmp_path / "d.yaml", [acme, tenant("beta")])), home=home, **env)
    write_snapshot(home / "snapshots", "2026-10-10", [
        event("q", "2026-10-10T10:00:00Z", "acme", "sql_queries", "10500"),
        event("t", "2026-10-11T10:00:00Z", "beta", "llm_tokens", "1000")])


def _outcome(home) -> dict:
    """What a close leaves that must not depend on crashes: invoices with their lines, alerts, deliveries,
    files in the outbox, and for each invoice whether its PDF is in the object store."""
    with sqlite3.connect(home / "ledger.sqlite") as con:
        invoices = con.execute("SELECT tenant_id, period, state, status, subtotal, tax, total, pdf_key, invoice_id "
                               "FROM invoices ORDER BY tenant_id, period").fetchall()
        lines = con.execute("SELECT i.tenant_id, l.position, l.description, l.quantity, l.amount FROM invoice_lines l "
                            "JOIN invoices i USING (invoice_id) ORDER BY 1, 2").fetchall()
        alerts = con.execute("SELECT tenant_id, period, subject, level FROM alerts ORDER BY 1, 2, 3, 4").fetchall()
        deliveries = con.execute("SELECT delivery_id, status, attempts FROM alert_deliveries ORDER BY 1").fetchall()
    return {"invoices": [row[:7] + ((home / "objects" / row[7]).is_file(),) for row in invoices],
            "invoice_ids": [row[8] for row in invoices], "lines": lines, "alerts": alerts, "deliveries": deliveries,
            "outbox": sorted(path.name for path in (home / "outbox").rglob("*") if path.is_file())}


def test_a_close_killed_at_any_step_is_finished_by_a_plain_rerun(tmp_path, localstripe_server):
    """SIGKILL at the start of each step in turn (and between an alert's send and its record), one rerun after
    each: the end state is the one of an uninterrupted close, and nothing is left held or running."""
    env = {"STRIPE_API_KEY": "sk_test_crash", "STRIPE_API_BASE": localstripe_server.url, "BILLING_POOL_WAIT_SECONDS": "20"}
    localstripe_server.reset()
    reference = tmp_path / "reference"
    _month(reference, tmp_path, env)
    ok("close", "--month", "2026-10", home=reference, **env)
    expected = _outcome(reference)
    assert len(expected["invoices"]) == 2 and expected["alerts"] and expected["outbox"]

    localstripe_server.reset()
    home = tmp_path / "home"
    _month(home, tmp_path, env)
    for point in CRASH_POINTS:
        killed = billing("close", "--month", "2026-10", home=home, BILLING_CRASH_AT=point, **env)
        assert killed.returncode == KILLED, f"{point}: {killed.stderr}"
    started = time.monotonic()
    ok("close", "--month", "2026-10", home=home, **env)
    assert time.monotonic() - started < RERUN_SECONDS

    outcome = _outcome(home)
    assert outcome["invoices"] == expected["invoices"]  # one per tenant and month, same totals, every PDF there
    assert all(has_pdf for *_, has_pdf in outcome["invoices"])
    assert outcome["lines"] == expected["lines"]
    assert outcome["alerts"] == expected["alerts"]  # each alert once ...
    assert outcome["deliveries"] == expected["deliveries"]  # ... each delivery sent once, none left claimed
    assert outcome["outbox"] == expected["outbox"]
    import stripe

    client = stripe.StripeClient("sk_test_crash", base_addresses={"api": localstripe_server.url})
    succeeded = [pi.metadata.to_dict()["invoice_id"] for pi in client.v1.payment_intents.list(params={"limit": 100}).data
                 if pi.status == "succeeded"]
    assert sorted(succeeded) == sorted(outcome["invoice_ids"])  # both tenants pay by card: one charge each

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    runs = instance.get_runs()
    assert not [run.run_id for run in runs if not run.is_finished]  # no run left STARTED
    assert sum(run.status == dg.DagsterRunStatus.FAILURE for run in runs) == len(CRASH_POINTS)  # the killed ones
    assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []


def test_a_dead_runs_slot_is_freed_and_a_live_holder_is_named(tmp_path):
    home = tmp_path / "home"
    _month(home, tmp_path, {})
    assert billing("close", "--month", "2026-10", home=home, BILLING_CRASH_AT="usage_events").returncode == KILLED
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    [dead] = instance.get_runs()
    assert dead.status == dg.DagsterRunStatus.STARTED  # as the kill left it: STARTED, holding the slot
    assert [slot.run_id for slot in instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots] == [
        dead.run_id]
    # The same run seen as alive (its pid now a live process): the next close waits, names it, and gives up.
    with subprocess.Popen(["sleep", "60"]) as holder:
        instance.add_run_tags(dead.run_id, {"billing/pid": str(holder.pid)})
        error = fails("close", "--month", "2026-10", home=home, BILLING_POOL_WAIT_SECONDS="2")
        holder.kill()
    assert error.startswith(f"billing: error: the warehouse pool is still held by run {dead.run_id} of ingest_usage "
                            f"(pid {holder.pid} on {socket.gethostname()}) since 20")
    assert error.endswith(f"after waiting 2 s: let it finish and rerun, or stop it with 'kill {holder.pid}' on "
                          f"{socket.gethostname()} (the next command marks it failed and frees its slot)")
    # Its process gone, the next close marks it failed and frees the slot, without waiting.
    ok("close", "--month", "2026-10", home=home, BILLING_POOL_WAIT_SECONDS="2")
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []


def test_two_closes_at_once_on_a_fresh_home(tmp_path):
    """Both create the Dagster instance and migrate the ledger: once, under BILLING_HOME's lock."""
    home = tmp_path / "home"
    _month(home, tmp_path, {})
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "DAGSTER_", "STRIPE_"))}
    environment.update(BILLING_HOME=str(home), BILLING_NOW=NOW)
    closes = [subprocess.Popen([BILLING, "close", "--month", "2026-10"], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for close in closes:
        _, stderr = close.communicate(timeout=600)
        assert close.returncode == 0, stderr
    assert len(ok("invoices", "--tenant", "acme", home=home)) == 1


DELIVER = """
import sys
from datetime import datetime
from billing.alerts import AlertBook
from billing.ledger import Ledger
from billing.transports import AwsTransport, FileTransport
url, kind, where = sys.argv[1:]
transport = AwsTransport("billing@acme.example", where) if kind == "aws" else FileTransport(where, "billing@acme.example")
AlertBook(Ledger(url)).deliver_due(transport, datetime.fromisoformat("2026-11-05T00:00:00+00:00"))
"""


def _deliver(book, kind: str, where: str, **env) -> int:
    """deliver_due in a process of its own, which a crash point may kill; return its exit code."""
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", DELIVER, book.ledger.url, kind, where], env=environment,
                          timeout=120).returncode


def _statuses(book) -> list[tuple[str, int]]:
    return sorted((d["status"], d["attempts"]) for d in book.deliveries("acme") if d["channel"] != "in_app")


def test_a_delivery_sent_before_a_crash_is_never_sent_again_blindly(alert_book, s3, moto_server, tmp_path):
    import boto3

    boto3.client("ses", endpoint_url=moto_server.url).verify_email_identity(EmailAddress="billing@acme.example")
    fire(alert_book, 101_000)  # overage: two emails and an SMS
    assert _deliver(alert_book, "aws", moto_server.url, BILLING_CRASH_AT="alert delivery sent") == KILLED
    assert _statuses(alert_book) == [("pending", 0), ("pending", 0), ("sending", 0)]  # sent, not recorded
    assert _deliver(alert_book, "aws", moto_server.url) == 0
    # SES cannot be asked: within the claim's lease the delivery may still be in a live sender's hands.
    assert _statuses(alert_book) == [("sending", 0), ("sent", 1), ("sent", 1)]
    with alert_book.ledger.engine.begin() as con:  # the lease (10 minutes) has passed
        con.execute(sa.text("UPDATE alert_deliveries SET claimed_at = '2000-01-01T00:00:00+00:00'"))
    assert _deliver(alert_book, "aws", moto_server.url) == 0
    assert _statuses(alert_book) == [("possibly_sent", 1), ("sent", 1), ("sent", 1)]
    data = moto_data(moto_server)
    assert len(data["ses"]["Message"]) + len(data["sns"]["SMS"]) == 3  # each once


def test_a_file_delivery_found_written_after_a_crash_is_recorded_sent(alert_book, tmp_path):
    fire(alert_book, 101_000)
    outbox = str(tmp_path / "outbox")
    assert _deliver(alert_book, "files", outbox, BILLING_CRASH_AT="alert delivery sent") == KILLED
    [written] = (tmp_path / "outbox").rglob("*.*")
    written.write_text("as the crashed process left it")
    assert _deliver(alert_book, "files", outbox) == 0
    assert _statuses(alert_book) == [("sent", 1), ("sent", 1), ("sent", 1)]
    assert written.read_text() == "as the crashed process left it"  # recorded, not written again


def test_two_first_migrations_at_once_on_postgresql(postgres_url):
    """The others wait on the advisory lock, then find everything applied."""
    from concurrent.futures import ThreadPoolExecutor

    ledgers = [Ledger(postgres_url) for _ in range(4)]
    with ThreadPoolExecutor(len(ledgers)) as pool:
        applied = list(pool.map(Ledger.migrate, ledgers))
    assert sorted(map(len, applied))[:-1] == [0] * (len(ledgers) - 1) and max(map(len, applied)) > 0
    assert ledgers[0].tenants() == []
