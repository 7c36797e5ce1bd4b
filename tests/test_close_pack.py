"""The close pack's documents: the workbook read back typed, the summary PDF read back as text, both the same
bytes on a rerun; and neither is written when a reconciliation check fails."""
import io
import subprocess
import zipfile
from datetime import datetime
from decimal import Decimal as D

import dagster as dg
import openpyxl

from assets import finance as finance_assets
from tests.test_finance import ledger_of_four_months, pack, resources  # noqa: F401 - the fixture

def materialize_pack(metering, instance):
    return dg.materialize([*finance_assets.FINANCE_ASSETS, *finance_assets.FINANCE_CHECKS], partition_key="2026-10", resources=resources(metering),
                          instance=instance, raise_on_error=False)


def test_the_workbook_has_a_typed_sheet_per_report_and_the_month_s_totals(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        assert materialize_pack(metering, instance).success
        data = (pack(metering) / "close_pack.xlsx").read_bytes()
        assert materialize_pack(metering, instance).success
        assert (pack(metering) / "close_pack.xlsx").read_bytes() == data  # a rerun: the same bytes
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()  # the month's issue date, not the wall clock
    assert core.count(">2026-11-01T00:00:00Z</dcterms:") == 2 and "<dc:creator>billing</dc:creator>" in core
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.properties.created == workbook.properties.modified == datetime(2026, 11, 1)
    assert workbook.sheetnames == ["Summary", "Invoice register", "Revenue summary", "AR aging", "Collections",
                                   "Adjustments", "Changes", "Quarantine"]
    front = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, values_only=True)}
    assert front["month"] == "2026-10" and front["AR as of"] == datetime(2026, 11, 1)
    assert front["invoices"] == 4 and front["invoiced"] == 540 + 550.25 + 5000 + 500
    assert front["collected"] == 540 and front["quarantined usage rows"] == 1
    assert workbook["Summary"]["B5"].number_format == "#,##0.00"

    register = workbook["Invoice register"]
    header = [cell.value for cell in register[1]]
    acme = next(row for row in register.iter_rows(min_row=2) if row[header.index("tenant_id")].value == "acme")
    total, issued = acme[header.index("total")], acme[header.index("issued_at")]
    assert (total.value, total.number_format, total.data_type) == (540, "#,##0.00", "n")
    assert (issued.value, issued.number_format, issued.is_date) == (datetime(2026, 11, 1), "yyyy-mm-dd", True)
    assert register.freeze_panes == "A2" and register.auto_filter.ref == register.dimensions
    # XlsxWriter stores a width with the cell padding Excel adds: tenant_name and 2 characters shown
    assert int(register.column_dimensions["D"].width) == len("tenant_name") + 2
    aging = workbook["AR aging"]
    assert [c.value for c in aging[1]][:3] == ["invoice_id", "invoice_number", "tenant_id"] and aging.max_row == 1 + 14  # 16 invoices, 2 paid


def test_nothing_is_written_after_a_check_fails(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with book.ledger.engine.begin() as con:
        con.exec_driver_sql("UPDATE invoices SET status = 'paid' WHERE tenant_id = 'beta' AND period = '2026-10'")
    with dg.instance_for_test() as instance:
        result = materialize_pack(metering, instance)
        assert not result.success
        materialized = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert "collections" in materialized and "close_pack" not in materialized
    assert not (pack(metering) / "close_pack.xlsx").exists()


def test_the_summary_pdf_shows_the_month_s_figures_with_charts(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        assert materialize_pack(metering, instance).success
        data = (pack(metering) / "close_summary.pdf").read_bytes()
        assert materialize_pack(metering, instance).success
        assert (pack(metering) / "close_summary.pdf").read_bytes() == data  # a rerun: the same bytes
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "Close summary, October 2026" in text
    for figure in ("$6,590.25", "$540.00", "INVOICED", "COLLECTED", "OUTSTANDING", "OVERDUE"):
        assert figure in text, figure
    for heading in ("Revenue by plan", "Revenue by service", "Accounts receivable aging", "previous three",
                    "Largest adjustments", "Quarantined usage"):
        assert heading in text, heading
    assert "unknown tenant" in text and "2026-07" in text and "90+" in text
    assert data.count(b"/Subtype /Image") == 0  # the charts are vector drawings, not pictures


def test_markup_in_the_summary_s_text_renders_as_text():
    from dataclasses import replace
    from datetime import date

    from billing.close_pack import summary_pdf
    from billing.finance import ADJUSTMENTS, TEMPLATES, close_totals

    reports = {template.name: template for template in TEMPLATES}  # every report empty
    reports["adjustments"] = replace(ADJUSTMENTS, rows=[{
        "invoice_id": "in_1", "tenant_id": "acme", "period_adjusted": "2026-09", "amount": D("-12.50"),
        "reason": '<img src="file:///etc/hostname"><b>late usage</b>', "adjustment_id": "adj_1",
        "recorded_at": date(2026, 10, 5), "applied_invoice_id": None}])
    data = summary_pdf("2026-10", date(2026, 11, 1), reports, close_totals(reports), [], None)
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert '<img src="file:///etc/hostname"><b>late usage</b>' in text and "-$12.50" in text
    assert "No invoices this month." in text and "No usage was quarantined this month." in text


def test_text_in_the_workbook_stays_text():
    from dataclasses import replace
    from datetime import date

    from billing.close_pack import workbook_bytes
    from billing.finance import ADJUSTMENTS

    adjustments = replace(ADJUSTMENTS, rows=[{
        "invoice_id": "in_1", "tenant_id": "acme", "period_adjusted": "2026-09", "amount": D("-12.50"),
        "reason": "=HYPERLINK(\"http://example.com\",\"late usage\")", "adjustment_id": "http://example.com/adj_1",
        "recorded_at": date(2026, 10, 5), "applied_invoice_id": None}])
    data = workbook_bytes([adjustments], [], datetime(2026, 11, 1))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Adjustments"]
    reason, identifier, applied = sheet["E2"], sheet["F2"], sheet["H2"]
    assert (reason.value, reason.data_type) == ('=HYPERLINK("http://example.com","late usage")', "s")
    assert (identifier.value, identifier.hyperlink, applied.value) == ("http://example.com/adj_1", None, None)
    assert sheet["D2"].value == -12.5 and sheet["G2"].is_date
