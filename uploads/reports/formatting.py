"""How the reports write their numbers for people ("—" where there is nothing to show)."""

from __future__ import annotations


def ratio(part, whole) -> float | None:
    """``part`` as a percentage of ``whole``, to one decimal, for a chart and its CSV."""
    return round(100 * part / whole, 1) if whole else None


def percent_of(part, whole) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def percent(fraction) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f}%"


def number(value) -> str:
    return f"{value:g}"


def duration(seconds) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:,.1f} s"
    return f"{seconds / 60:,.1f} min"


def seconds(value) -> str:
    return "—" if value is None else f"{value:,.2f} s"


def rate(value) -> str:
    return "—" if value is None else f"{value:,.2f} MB/s"


def size(value) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,} B"


def mebibytes(value) -> str:
    return "—" if value is None else f"{value / 1024 / 1024:,.1f} MiB"
