"""What the analytics page is made of: a window of days, and figures grouped in sections.

A ``Figure`` is a table (a first column of labels, one column per measure) that the page draws
as a chart (``uploads.reports.charts``) and offers as CSV, so the picture and the download can
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

MAX_WINDOW_DAYS = 731
TOP = 10


@dataclass(frozen=True)
class Window:
    """Whole UTC days from ``first_day`` to ``last_day``, both included."""

    first_day: date
    last_day: date
    purpose: str | None = None

    @classmethod
    def last_days(cls, days: int, *, purpose: str | None = None, today: date | None = None):
        today = today or datetime.now(UTC).date()
        return cls(today - timedelta(days=days - 1), today, purpose)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the window."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=UTC)

    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]


@dataclass(frozen=True)
class Series:
    column: str
    colour: str  # a role the page's style sheet colours: good, bad, neutral, warn, info


@dataclass(frozen=True)
class Figure:
    """One table of numbers, drawn as ``chart`` ("stacked" bars, "lines", "histogram") or, when
    ``chart`` is None, shown as a table. ``series`` says which columns are drawn and how; a
    column not drawn is still in the CSV. ``unit`` formats the value axis: count, bytes,
    seconds or percent. ``links``: for a table, where each row's first cell leads; ``hidden``:
    columns a table leaves to the CSV."""

    slug: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: str | None = None
    series: tuple[Series, ...] = ()
    unit: str = "count"
    note: str = ""
    links: list[str | None] = field(default_factory=list)
    hidden: tuple[str, ...] = ()

    def shown_columns(self) -> list[str]:
        return [column for column in self.columns if column not in self.hidden]

    def linked_rows(self) -> list[tuple[str | None, list]]:
        """The table's rows (without hidden columns), each with its first cell's link."""
        shown = [n for n, column in enumerate(self.columns) if column not in self.hidden]
        links = self.links or [None] * len(self.rows)
        return [(link, [row[n] for n in shown]) for link, row in zip(links, self.rows, strict=True)]


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    headline: list[tuple[str, str]]
    figures: list[Figure]
    note: str = ""
