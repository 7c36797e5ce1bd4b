"""Charts of the Billing page as server-rendered SVG: readable without JavaScript, each bar a <rect> with a
<title> (its label and value) so screen readers and tests read the figures straight from the DOM."""
from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

BAR = "#1d4ed8"  # 6.7:1 on white (WCAG AA for graphics needs 3:1)
AXIS = "#4b5563"


def number(value: Decimal | int | float) -> str:
    """A figure as people read it: thousands separated, no exponent, no trailing zeros (1.5E+6: 1,500,000)."""
    return format(Decimal(str(value)).normalize(), ",f")


def usd(value: Decimal) -> str:
    return f"${Decimal(str(value)):,.2f}"


def daily_bars(title: str, points: list[tuple[str, Decimal]], width: int = 320, height: int = 96) -> Markup:
    """Vertical bars, one a day; the tallest fills the height."""
    top = max((value for _, value in points), default=Decimal(0)) or Decimal(1)
    step = width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = float(value / top) * (height - 16)
        bars.append(f'<rect class="bar" x="{index * step + 1:.1f}" y="{height - 14 - bar_height:.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{bar_height:.1f}" fill="{BAR}">'
                    f'<title>{escape(label)}: {escape(number(value))}</title></rect>')
    first, last = (points[0][0], points[-1][0]) if points else ("", "")
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}">'
        f'<title>{escape(title)}</title>{"".join(bars)}'
        f'<line x1="0" y1="{height - 13}" x2="{width}" y2="{height - 13}" stroke="{AXIS}" stroke-width="1"/>'
        f'<text x="0" y="{height - 1}" fill="{AXIS}" font-size="10">{escape(first)}</text>'
        f'<text x="{width}" y="{height - 1}" fill="{AXIS}" font-size="10" text-anchor="end">{escape(last)}</text>'
        '</svg>')


def horizontal_bars(title: str, points: list[tuple[str, Decimal]], unit: str = "$", width: int = 480) -> Markup:
    """One labelled bar a row, for costs: the label left, the bar, the amount right."""
    row, label_width, amount_width = 22, 150, 90
    top = max((value for _, value in points), default=Decimal(0)) or Decimal(1)
    span = width - label_width - amount_width
    rows = []
    for index, (label, value) in enumerate(points):
        y = index * row
        length = max(float(value / top) * span, 0)
        text = usd(value) if unit == "$" else f"{number(value)} {unit}"
        rows.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#111827">{escape(label)}</text>'
                    f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{length:.1f}" height="14" fill="{BAR}">'
                    f'<title>{escape(label)}: {escape(text)}</title></rect>'
                    f'<text x="{width}" y="{y + 15}" font-size="12" fill="#111827" text-anchor="end">{escape(text)}</text>')
    height = max(len(points), 1) * row
    return Markup(f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(rows)}</svg>')
