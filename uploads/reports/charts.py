"""Figures drawn as inline SVG on the server: no script, nothing to load, and colours taken from
the admin's CSS variables (``analytics.html`` maps each series' role to one), so a chart follows
the light and dark admin themes like the text around it.

Every bar and point carries a ``<title>`` (its label and value), which browsers show on hover
and screen readers read.
"""

from __future__ import annotations

import math
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from uploads.reports.page import Figure

WIDTH, HEIGHT = 520, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 30
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
GRID_LINES = 4
MOST_X_LABELS = 8
MOST_POINTS = 92  # a quarter's days
COMPACT_FROM = 100_000
COUNT_SCALES = (("tn", 10**12), ("bn", 10**9), ("M", 10**6), ("k", 10**3))


def svg(figure: Figure) -> SafeString:
    if figure.chart is None:
        return mark_safe("")
    columns = [figure.columns.index(series.column) for series in figure.series]
    labels = [_label(row[0]) for row in figure.rows]
    values = [[row[c] for c in columns] for row in figure.rows]
    if figure.chart == "lines":
        highest = max((v for row in values for v in row if v is not None), default=0)
    else:
        highest = max((sum(v or 0 for v in row) for row in values), default=0)
    top = nice_ceiling(highest, figure.unit)
    slot = PLOT_WIDTH / max(len(labels), 1)

    def y(value):
        return TOP + PLOT_HEIGHT * (1 - value / top)

    parts = [
        f'<svg class="s7-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(figure.title)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for n in range(GRID_LINES + 1):
        value = top * n / GRID_LINES
        parts.append(
            f'<line class="s7-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}"/><text class="s7-axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{escape(format_value(value, figure.unit, axis_top=top))}</text>'
        )
    every = max(1, math.ceil(len(labels) / MOST_X_LABELS))
    for n, label in enumerate(labels):
        if n % every == 0:
            parts.append(
                f'<text class="s7-axis" x="{LEFT + slot * (n + 0.5):.1f}" y="{HEIGHT - BOTTOM + 15}"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    if figure.chart == "lines":
        parts += _lines(figure, labels, values, slot, y)
    else:
        parts += _bars(figure, labels, values, slot, y)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _bars(figure, labels, values, slot, y) -> list[str]:
    width = max(slot * 0.8, 1)
    parts = []
    for n, (label, row) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + slot * n + (slot - width) / 2
        base = 0
        for series, value in zip(figure.series, row, strict=True):
            if not value:
                continue
            parts.append(
                f'<rect class="s7-{series.colour}" x="{x:.1f}" y="{y(base + value):.1f}" '
                f'width="{width:.1f}" height="{y(base) - y(base + value):.1f}">'
                f"<title>{escape(label)} · {escape(series.column)}: "
                f"{escape(format_value(value, figure.unit, exact=True))}</title></rect>"
            )
            base += value
    return parts


def _lines(figure, labels, values, slot, y) -> list[str]:
    parts = []
    for index, series in enumerate(figure.series):
        runs, run = [], []
        for n, row in enumerate(values):
            if row[index] is None:  # no data that day: a gap, not a zero
                if run:
                    runs.append(run)
                run = []
                continue
            run.append((LEFT + slot * (n + 0.5), y(row[index]), labels[n], row[index]))
        if run:
            runs.append(run)
        for run in runs:
            points = " ".join(f"{x:.1f},{py:.1f}" for x, py, _, _ in run)
            parts.append(f'<polyline class="s7-line s7-{series.colour}" points="{points}"/>')
            if len(values) > MOST_POINTS:
                continue  # too close together to be told apart: the CSV has every value
            for x, py, label, value in run:
                parts.append(
                    f'<circle class="s7-{series.colour}" cx="{x:.1f}" cy="{py:.1f}" r="3">'
                    f"<title>{escape(label)} · {escape(series.column)}: "
                    f"{escape(format_value(value, figure.unit, exact=True))}</title></circle>"
                )
    return parts


def nice_ceiling(value: float, unit: str = "count") -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (whole numbers for counts)."""
    if unit == "percent":
        return 100.0
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            ceiling = step * magnitude
            break
    if unit == "count":
        ceiling = max(ceiling, GRID_LINES)
        ceiling = math.ceil(ceiling / GRID_LINES) * GRID_LINES
    return ceiling


def format_value(
    value: float, unit: str, *, exact: bool = False, axis_top: float | None = None
) -> str:
    if unit == "percent":
        return f"{value:.1f}%" if exact else f"{value:g}%"
    if unit == "seconds":
        if value >= 120:
            return f"{value / 60:,.1f} min"
        return f"{value:,.2f} s" if exact else f"{value:,.3g} s"
    if unit == "bytes":
        for name, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
            if value >= scale:
                return f"{value / scale:,.1f} {name}" if exact else f"{value / scale:,.3g} {name}"
        return f"{value:,.0f} B"
    # Axis labels have LEFT's width: "1.25M" fits where "1,250,000" would be cut off. One scale
    # for a whole axis (its top's), so that its labels read alike.
    reference = axis_top or value
    if not exact and value and reference >= COMPACT_FROM:
        name, scale = next((name, scale) for name, scale in COUNT_SCALES if reference >= scale)
        return f"{value / scale:.4g}{name}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _label(value) -> str:
    if isinstance(value, date):
        return value.strftime("%b %-d")
    return str(value)
