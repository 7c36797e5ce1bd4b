"""`billing reports`: the close pack's files with their totals, and AR aging on any date, as a user runs them."""
import dagster as dg

from tests.test_cli import billing, fails, ok
from tests.test_close_pack import materialize_pack
from tests.test_finance import ledger_of_four_months  # noqa: F401 - the fixture


def test_reports_lists_the_pack_with_its_totals_and_ages_receivables_on_any_day(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    home = metering.settings.home
    with dg.instance_for_test() as instance:
        assert materialize_pack(metering, instance).success
    listing = ok("reports", "--month", "2026-10", home=home)
    files = {entry["file"]: entry for entry in listing["files"]}
    assert set(files) == {"invoice_register.csv", "revenue_summary.csv", "ar_aging.csv", "collections.csv",
                          "adjustments.csv", "changes.csv", "quarantine.csv", "close_pack.xlsx", "close_summary.pdf"}
    assert files["invoice_register.csv"]["totals"] == {"rows": 4, "subtotal": 6550.25, "tax": 40, "total": 6590.25,
                                                       "amount_paid": 540, "balance": 6050.25}
    assert files["close_summary.pdf"]["exists"] and files["close_summary.pdf"]["bytes"] > 1000
    text = billing("reports", "--month", "2026-10", home=home).stdout
    assert "invoice_register.csv" in text and "total 6590.25" in text

    aging = ok("reports", "ar-aging", "--as-of", "2026-12-15", home=home)
    assert aging["outstanding"] == 20821 and aging["buckets"]["90+"] == 6590.25 + 1590.25  # July's, August's but the wire
    assert {row["bucket"] for row in aging["invoices"] if row["period"] == "2026-10"} == {"31-60", "1-30"}
    assert "1-30" in billing("reports", "ar-aging", "--as-of", "2026-12-15", home=home).stdout


def test_reports_say_in_one_line_what_is_wrong(ledger_of_four_months):
    home = ledger_of_four_months[0].settings.home
    assert "no close pack for 2026-09" in fails("reports", "--month", "2026-09", home=home)
    assert "bad month" in fails("reports", "--month", "2026-13", home=home)
    assert "bad --as-of '2026-02-30'" in fails("reports", "ar-aging", "--as-of", "2026-02-30", home=home)
