"""Charts drawn on the server as SVG: horizontal bars and a weekly trend, for the statistics page and the reports.

The SVG goes into the page as markup (no script, no inline style, nothing fetched: the console's CSP holds);
colours are presentation attributes. The drawing is 360 units wide, so that on a phone it shows at about its
own size and text stays readable; on a desktop the stylesheet caps its width. Every bar can link to the
appeals behind it. WeasyPrint draws the same SVG in the PDF report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 360
ROW = 26
LABEL = 128
COLOURS = ("#b3261e", "#0969da", "#1a7f37", "#9a6700")


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, value (a share in [0, 1] or a count), the text shown, and a link."""

    label: str
    value: float
    text: str
    href: str = ""


def _clip(text: str, length: int = 9) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _linked(markup: str, href: str, title: str) -> str:
    if not href:
        return f"<g><title>{escape(title)}</title>{markup}</g>"
    return f'<a href="{escape(href)}"><title>{escape(title)}</title>{markup}</a>'


def bars(title: str, rows: Sequence[Bar], *, share: bool = False, colour: str = COLOURS[0]) -> Markup:
    """Horizontal bars, largest scale 100% for shares or the largest count."""
    if not rows:
        return Markup(f'<p class="empty">{escape(title)}：本期没有数据。</p>')
    top = 1.0 if share else max(max(row.value for row in rows), 1.0)
    span = WIDTH - LABEL - 56
    height = ROW * len(rows) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">'
    ]
    for index, row in enumerate(rows):
        y = 4 + index * ROW
        length = max(0.0, min(row.value / top, 1.0)) * span
        label = f'<text x="{LABEL - 6}" y="{y + 16}" text-anchor="end" fill="#1f2328">{escape(_clip(row.label))}</text>'
        bar = f'<rect x="{LABEL}" y="{y + 4}" width="{length:.1f}" height="{ROW - 10}" rx="2" fill="{colour}"/>'
        value = f'<text x="{LABEL + length + 4:.1f}" y="{y + 16}" fill="#1f2328">{escape(row.text)}</text>'
        parts.append(_linked(label + bar + value, row.href, f"{row.label}：{row.text}"))
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Point:
    """One week of the trend: its label, the count received, a rate (or None), and a link."""

    label: str
    count: int
    rate: float | None
    href: str = ""


def trend(title: str, points: Sequence[Point], *, rate_name: str) -> Markup:
    """Columns of the count per week, with the rate as a line on a 0-100% scale."""
    if not points:
        return Markup(f'<p class="empty">{escape(title)}：本期没有数据。</p>')
    height, top, bottom, left = 200, 16, 36, 30
    inner = height - top - bottom
    step = (WIDTH - left - 8) / len(points)
    most = max(max(point.count for point in points), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">',
        f'<line x1="{left}" y1="{top + inner}" x2="{WIDTH - 4}" y2="{top + inner}" stroke="#d1d9e0"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="#59636e">{most}</text>',
        f'<text x="{left - 4}" y="{top + inner}" text-anchor="end" fill="#59636e">0</text>',
    ]
    line: list[str] = []
    for index, point in enumerate(points):
        x = left + index * step
        column = point.count / most * inner
        middle = x + step / 2
        rect = (
            f'<rect x="{x + step * 0.2:.1f}" y="{top + inner - column:.1f}" width="{step * 0.6:.1f}" '
            f'height="{column:.1f}" fill="#0969da" opacity="0.75"/>'
        )
        count = f'<text x="{middle:.1f}" y="{top + inner - column - 3:.1f}" text-anchor="middle">{point.count}</text>'
        label = (
            f'<text x="{middle:.1f}" y="{height - 20}" text-anchor="middle" fill="#59636e">{escape(point.label)}</text>'
        )
        rate = "" if point.rate is None else f"，{rate_name} {point.rate * 100:.1f}%"
        parts.append(_linked(rect + count + label, point.href, f"{point.label} 当周受理 {point.count} 件{rate}"))
        if point.rate is not None:
            line.append(f"{middle:.1f},{top + inner - point.rate * inner:.1f}")
    if line:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#b3261e" stroke-width="2"/>')
        parts.extend(f'<circle cx="{xy.split(",")[0]}" cy="{xy.split(",")[1]}" r="3" fill="#b3261e"/>' for xy in line)
    legend = f"柱：受理量　线：{rate_name}（0-100%）"
    parts.append(f'<text x="{left}" y="{height - 4}" fill="#59636e">{escape(legend)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
