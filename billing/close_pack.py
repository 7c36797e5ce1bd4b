"""The close pack's documents: one workbook (openpyxl) with a sheet per report and a front sheet of the month's
totals. Typed cells (dates as dates, money as numbers in a 2-decimal format) and the same bytes on a rerun of the
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

from billing.finance import DATE, MONEY, Report

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
