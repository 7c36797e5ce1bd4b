"""The close pack's documents: a summary PDF (Jinja2 + WeasyPrint, charts as inline SVG), and one workbook
(openpyxl) with a sheet per report and a front sheet of the month's totals. Typed cells (dates as dates, money as numbers in a 2-decimal format) and the same bytes on a rerun of the
same data: the workbook's timestamps are the month's issue date and its zip entries carry a fixed date."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from billing.finance import ADJUSTMENTS, AR_AGING, BUCKETS, DATE, MONEY, QUARANTINE, REVENUE, Report, aging_by_bucket
from billing.pdf import render_document

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
MAX_WIDTH = 60
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
BOLD = Font(bold=True)


def _width(value) -> int:
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    if isinstance(value, date):
        return 10
    return len("" if value is None else str(value))


def _sheet(workbook: Workbook, title: str, columns: list[tuple[str, str]], rows: list[list]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append([name for name, _ in columns])
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append(row)
    for index, (name, kind) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        if kind in (MONEY, DATE):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = MONEY_FORMAT if kind == MONEY else DATE_FORMAT
        widest = max([len(name)] + [_width(row[index - 1]) for row in rows])
        sheet.column_dimensions[letter].width = min(widest + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def workbook_bytes(reports: list[Report], front: list[tuple[str, object, str]], stamp: datetime) -> bytes:
    """`front`: (label, value, kind) lines of the front sheet; `stamp`: the workbook's created and modified time."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "Summary", [("figure", "text"), ("value", "text")], [[label, value] for label, value, _ in front])
    summary = workbook["Summary"]
    for row, (_, _, kind) in enumerate(front, start=2):
        summary.cell(row, 2).number_format = MONEY_FORMAT if kind == MONEY else DATE_FORMAT if kind == DATE else "General"
    for report in reports:
        names = [name for name, _ in report.columns]
        _sheet(workbook, report.title, list(report.columns), [[row[name] for name in names] for row in report.rows])
    workbook.properties.creator = "billing"
    workbook.properties.created = workbook.properties.modified = stamp.replace(tzinfo=None)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()  # not openpyxl's save_workbook, which stamps the wall clock
    return _fixed_dates(buffer.getvalue())


def _fixed_dates(data: bytes) -> bytes:
    """The same archive with every entry dated ZIP_EPOCH: a zip records when each entry was written."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            archive.writestr(zipfile.ZipInfo(entry.filename, ZIP_EPOCH), source.read(entry.filename),
                             compress_type=zipfile.ZIP_DEFLATED)
    return target.getvalue()


FRONT = (("invoices", "invoices", "int"), ("subtotal", "subtotal", MONEY), ("tax", "tax", MONEY),
         ("invoiced", "invoiced", MONEY), ("collected", "collected", MONEY), ("outstanding", "outstanding", MONEY),
         ("overdue", "overdue", MONEY), ("adjustments recorded", "adjustments", MONEY),
         ("invoices changed since close", "changes", "int"), ("quarantined usage rows", "quarantined_rows", "int"))


def front_lines(period: str, as_of: date, totals: dict) -> list[tuple[str, object, str]]:
    return [("month", period, "text"), ("AR as of", as_of, DATE)] + [(label, totals[key], kind) for label, key, kind in FRONT]


LARGEST_ADJUSTMENTS = 10


def _bars(items: list[tuple[str, Decimal]], **extra) -> list[dict]:
    """Bars of a chart: each value's share of the largest (by size), what the SVG draws."""
    largest = max((abs(value) for _, value in items), default=Decimal(0)) or Decimal(1)
    return [{"label": label, "value": value, "share": float(abs(value) / largest),
             **{key: values[index] for key, values in extra.items()}} for index, (label, value) in enumerate(items)]


def summary_pdf(period: str, as_of: date, reports: dict[str, Report], totals: dict, months: list[dict],
                by_service: dict[str, Decimal] | None) -> bytes:
    """close_summary.pdf: the month's figures for the finance lead, with charts drawn as inline SVG."""
    revenue = reports[REVENUE.name].rows
    plans: dict[str, Decimal] = {}
    for row in revenue:
        plans[row["plan"]] = plans.get(row["plan"], Decimal("0.00")) + row["amount"]
    aging = reports[AR_AGING.name]
    counts = [sum(row["bucket"] == bucket for row in aging.rows) for bucket in BUCKETS]
    largest = max((m["invoiced"] for m in months), default=Decimal(0)) or Decimal(1)
    reasons: dict[str, int] = {}
    for row in reports[QUARANTINE.name].rows:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    return render_document(
        "close_summary.html", "close_summary.css", period=period, as_of=as_of,
        month_name=date.fromisoformat(f"{period}-01").strftime("%B %Y"), totals=totals, revenue=revenue,
        by_plan=_bars(sorted(plans.items())),
        by_service=_bars(sorted(by_service.items())) if by_service else None,
        aging=_bars(list(aging_by_bucket(aging).items()), count=counts),
        months=[{**m, "invoiced_share": float(m["invoiced"] / largest), "paid_share": float(m["paid"] / largest)}
                for m in months],
        adjustments=sorted(reports[ADJUSTMENTS.name].rows, key=lambda row: (-abs(row["amount"]), row["adjustment_id"]))
        [:LARGEST_ADJUSTMENTS],
        quarantine=sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
    )
