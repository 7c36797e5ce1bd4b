"""Crash recovery (issue 14): a killed command never blocks or corrupts the next one.

Kills come from BILLING_CRASH_AT=<name> (billing/crash.py): the process SIGKILLs itself at that point."""
import signal
import sqlite3

from billing.ledger import Ledger
from billing.sql import statements
from tests.conftest import tenant, write_directory
from tests.test_cli import billing, ok

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
