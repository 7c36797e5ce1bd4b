"""The close pack's documents: a summary PDF (Jinja2 + WeasyPrint, charts as inline SVG), and one workbook
(XlsxWriter, streaming) with a sheet per report and a front sheet of the month's totals. Typed cells (dates as
dates, money as numbers in a 2-decimal format) and the same bytes on a rerun of the same data: the workbook's
created and modified time is the month's issue date and its zip entries carry a fixed date."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

from billing.finance import (ADJUSTMENTS, AR_AGING, BUCKETS, DATE, INT, MONEY, QUARANTINE, REVENUE, TEXT, Report,
                             aging_by_bucket)
from billing.pdf import render_document

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
MAX_WIDTH = 60
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def _width(value) -> int:
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    if isinstance(value, date):
        return 10
    return len("" if value is None else str(value))


class _Sheets:
    """One workbook written row by row (XlsxWriter's constant_memory: a row is on disk once the next begins)."""

    def __init__(self, buffer: io.BytesIO, stamp: datetime):
        self.workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True})
        # Not the wall clock: the same data, the same bytes.
        self.workbook.set_properties({"author": "billing", "created": stamp.replace(tzinfo=None)})
        self.bold = self.workbook.add_format({"bold": True})
        self.formats = {MONEY: self.workbook.add_format({"num_format": MONEY_FORMAT}),
                        DATE: self.workbook.add_format({"num_format": DATE_FORMAT})}

    def _writer(self, sheet, kind: str):
        """How a value of a column kind goes into a cell: money as a number (a 2-place amount reads back
        exact as a double), dates as dates, counts as numbers, text as text (never a formula or a link)."""
        if kind == MONEY:
            money = self.formats[MONEY]
            return lambda row, col, value: sheet.write_number(row, col, float(value), money)
        if kind == DATE:
            day = self.formats[DATE]
            return lambda row, col, value: sheet.write_datetime(row, col, value, day)
        if kind == INT:
            return sheet.write_number
        return lambda row, col, value: sheet.write_string(row, col, str(value))

    def _start(self, title: str, names: list[str], rows: list[list]):
        """A sheet with its bold header row, frozen; an autofilter over it all; columns as wide as their longest
        value (at most MAX_WIDTH)."""
        sheet = self.workbook.add_worksheet(title)
        for col, name in enumerate(names):
            widest = max([len(name)] + [_width(row[col]) for row in rows])
            sheet.set_column(col, col, min(widest + 2, MAX_WIDTH))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(names) - 1)
        for col, name in enumerate(names):
            sheet.write_string(0, col, name, self.bold)
        return sheet

    def sheet(self, title: str, columns: list[tuple[str, str]], rows: list[list]) -> None:
        """A sheet of rows whose columns have a kind each."""
        sheet = self._start(title, [name for name, _ in columns], rows)
        writers = [self._writer(sheet, kind) for _, kind in columns]
        for number, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is not None:
                    writers[col](number, col, value)

    def front(self, lines: list[tuple[str, object, str]]) -> None:
        """The front sheet: a figure a row, each value of its own kind."""
        sheet = self._start("Summary", ["figure", "value"], [[label, value] for label, value, _ in lines])
        for number, (label, value, kind) in enumerate(lines, start=1):
            sheet.write_string(number, 0, label)
            self._writer(sheet, kind)(number, 1, value)

    def close(self) -> None:
        self.workbook.close()


def workbook_bytes(reports: list[Report], front: list[tuple[str, object, str]], stamp: datetime) -> bytes:
    """`front`: (label, value, kind) lines of the front sheet; `stamp`: the workbook's created and modified time."""
    buffer = io.BytesIO()
    sheets = _Sheets(buffer, stamp)
    sheets.front(front)
    for report in reports:
        names = [name for name, _ in report.columns]
        sheets.sheet(report.title, list(report.columns), [[row[name] for name in names] for row in report.rows])
    sheets.close()
    return _fixed_dates(buffer.getvalue())


def _fixed_dates(data: bytes) -> bytes:
    """The same archive with every entry dated ZIP_EPOCH and the same attributes, whatever the temporary files
    XlsxWriter streamed the sheets through (their dates, their modes)."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            archive.writestr(zipfile.ZipInfo(entry.filename, ZIP_EPOCH), source.read(entry.filename),
                             compress_type=zipfile.ZIP_DEFLATED)
    return target.getvalue()


FRONT = (("invoices", "invoices", INT), ("subtotal", "subtotal", MONEY), ("tax", "tax", MONEY),
         ("invoiced", "invoiced", MONEY), ("collected", "collected", MONEY), ("outstanding", "outstanding", MONEY),
         ("overdue", "overdue", MONEY), ("adjustments recorded", "adjustments", MONEY),
         ("invoices changed since close", "changes", INT), ("quarantined usage rows", "quarantined_rows", INT))


def front_lines(period: str, as_of: date, totals: dict) -> list[tuple[str, object, str]]:
    return [("month", period, TEXT), ("AR as of", as_of, DATE)] + [(label, totals[key], kind) for label, key, kind in FRONT]


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
