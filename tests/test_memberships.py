"""Membership as spans: a user removed and added again is no seat in the months between (SQLite and PostgreSQL)."""
import shutil
from datetime import date, datetime, timezone
from decimal import Decimal as D

import billing.ledger
from billing.directory import Membership
from billing.invoices import InvoiceBook
from billing.ledger import MIGRATIONS, Ledger
from billing.pricing import rate
from tests.conftest import tenant
from tests.test_invoices import BOOK
from tests.test_ledger import directory, ledger, users  # noqa: F401 - the SQLite/PostgreSQL fixture

SIX = ("u1", "u2", "u3", "u4", "u5", "u6")  # starter includes 5 users: the 6th is a 15.00 seat


def acme(*user_ids):
    return directory(tenant("acme", plan="starter", users=users(*user_ids)))


def close(book, period, now):
    acme_now = book.ledger.tenant("acme")
    return book.record(acme_now, rate(acme_now, period, {}, BOOK), now)


def test_a_user_away_for_a_whole_month_is_no_seat_in_it_and_a_reclose_adds_nothing(ledger):  # noqa: F811
    ledger.import_directory(acme(*SIX), today=date(2026, 8, 1))
    ledger.import_directory(acme(*SIX[:5]), today=date(2026, 9, 10))  # u6 leaves
    book = InvoiceBook(ledger, grace_days=2)
    october = close(book, "2026-10", datetime(2026, 11, 3, tzinfo=timezone.utc))
    assert [invoice.total for invoice in book.of_period("2026-10")] == [D("99.00")]  # five seats: none above

    summary = ledger.import_directory(acme(*SIX), today=date(2026, 11, 15))  # u6 is back
    assert (summary["users_added"], summary["users_removed"]) == (1, 0)
    [u6] = [user for user in ledger.tenant("acme").users if user.user_id == "u6"]
    assert u6.memberships == (Membership(None, date(2026, 9, 10)), Membership(date(2026, 11, 15), None))
    assert [ledger.tenant("acme").seats(p) for p in ("2026-09", "2026-10", "2026-11")] == [6, 5, 6]

    assert close(book, "2026-10", datetime(2026, 11, 29, tzinfo=timezone.utc)).action == "final"
    assert book.get(october.invoice_id).adjustments == ()

    ledger.import_directory(acme(*SIX[:5]), today=date(2026, 11, 20))  # leaves again: only the open span ends
    [u6] = [user for user in ledger.tenant("acme").users if user.user_id == "u6"]
    assert u6.memberships[-1] == Membership(date(2026, 11, 15), date(2026, 11, 20)) and not u6.current


def test_the_migration_keeps_each_users_span(tmp_path, monkeypatch):
    before_spans = tmp_path / "migrations"
    before_spans.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql"))[:4]:  # the schema up to 0004: dates on users
        shutil.copy(path, before_spans)
    old_ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    monkeypatch.setattr(billing.ledger, "MIGRATIONS", before_spans)
    old_ledger.migrate()
    with old_ledger.engine.begin() as con:
        con.exec_driver_sql("INSERT INTO tenants VALUES ('acme', 'Acme', 'US', 'starter', NULL, '0', 'card', NULL, 'x', 'x')")
        con.exec_driver_sql("INSERT INTO users VALUES ('acme', 'old', 'Old', 'o@x.io', NULL, 'member', NULL, '2026-09-10'),"
                            " ('acme', 'new', 'New', 'n@x.io', NULL, 'member', '2026-10-02', NULL)")
    monkeypatch.setattr(billing.ledger, "MIGRATIONS", MIGRATIONS)
    assert "0005_memberships" in old_ledger.migrate()
    spans = {user.user_id: user.memberships for user in old_ledger.tenant("acme").users}
    assert spans == {"old": (Membership(None, date(2026, 9, 10)),), "new": (Membership(date(2026, 10, 2), None),)}


def test_a_user_removed_and_added_again_on_one_day_is_current(ledger):  # noqa: F811
    ledger.import_directory(acme("u1"), today=date(2026, 8, 1))
    ledger.import_directory(acme("u1", "u2"), today=date(2026, 10, 5))
    ledger.import_directory(acme("u1"), today=date(2026, 10, 5))
    ledger.import_directory(acme("u1", "u2"), today=date(2026, 10, 5))
    assert ledger.import_directory(acme("u1", "u2"), today=date(2026, 10, 6))["tenants_unchanged"] == 1
    [u2] = [user for user in ledger.tenant("acme").users if user.user_id == "u2"]
    assert u2.current and u2.memberships[-1] == Membership(date(2026, 10, 5), None)
