"""The analytics page's figures: what it charts, and the same numbers as CSV.

A ``Figure`` is a table (a first column of labels, one column per measure) that the page draws
as a chart (``uploads.reports.charts``) and offers as CSV, so the picture and the download can
never disagree. Figures come in ``Section``\\ s: the engine makes the uploads section; a project
adds its own with ``add_section`` (the site adds downloads), since the engine knows nothing of
what is uploaded for.

Windows are whole UTC days. As in ``upload_report``, the upload cohort is the uploads *started*
in the window, grouped by the day they started, so every rate has one denominator. Every query
groups in the database; with the indexes on ``created_at`` (and ``purpose, created_at``) a year
of uploads is one range scan per figure.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Q,
    Sum,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, NullIf, TruncDate
from django.urls import reverse

from uploads.core.models import OPEN_STATES, Upload, UploadState
from uploads.reports.figures import MB, PercentileCont, Seconds, percentiles

MiB = 1024 * 1024
MAX_WINDOW_DAYS = 731
TOP = 10

# Client throughput buckets, MB/s: wide enough for a modem and a data centre alike.
THROUGHPUT_EDGES = (0.5, 1, 2, 5, 10, 20, 50, 100)


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


SectionMaker = Callable[[Window], Section]
_added_sections: list[SectionMaker] = []


def add_section(maker: SectionMaker) -> None:
    """Show another section on the analytics page, after the uploads (once, however often a
    project's ``ready()`` runs)."""
    if maker not in _added_sections:
        _added_sections.append(maker)


def sections(window: Window) -> list[Section]:
    return [upload_section(window), *(maker(window) for maker in _added_sections)]


def find_figure(window: Window, slug: str) -> Figure | None:
    for section in sections(window):
        for figure in section.figures:
            if figure.slug == slug:
                return figure
    return None


# --- The uploads ---------------------------------------------------------------------------


def window_uploads(window: Window):
    uploads = Upload.objects.filter(created_at__gte=window.since, created_at__lt=window.until)
    if window.purpose:
        uploads = uploads.filter(purpose=window.purpose)
    return uploads.order_by()


def upload_section(window: Window) -> Section:
    uploads = window_uploads(window)
    days = window.days()
    started_day = TruncDate("created_at", tzinfo=UTC)

    to_ready = Seconds(F("ready_at"), F("created_at"))
    worker_seconds = worker_figure("seconds", FloatField())
    worker_memory = worker_figure("peak_rss", BigIntegerField())
    measures = {
        "started": Count("pk"),
        "ready": Count("pk", filter=Q(state=UploadState.READY)),
        "failed": Count("pk", filter=Q(state=UploadState.FAILED)),
        "aborted": Count("pk", filter=Q(state=UploadState.ABORTED)),
        "expired": Count("pk", filter=Q(state=UploadState.EXPIRED)),
        "open": Count("pk", filter=Q(state__in=OPEN_STATES)),
        "stored": Sum("size", filter=Q(state=UploadState.READY)),
        "retried": Sum("parts_retried"),
        "resumed": Count("pk", filter=Q(resumed=True)),
    }
    counted = list(measures)
    postgres = connections[uploads.db].vendor == "postgresql"
    if postgres:
        # One pass over the window's rows: percentiles by day too (NULLs are left out, so each
        # takes only the uploads it applies to).
        measures |= {
            "ready_p50": PercentileCont(to_ready, 0.5),
            "ready_p95": PercentileCont(to_ready, 0.95),
            "seconds_p50": PercentileCont(worker_seconds, 0.5),
            "seconds_max": Max(worker_seconds),
            "memory_p50": PercentileCont(worker_memory, 0.5),
            "memory_max": Max(worker_memory),
        }
    daily = {
        row["day"]: row
        for row in uploads.annotate(day=started_day).values("day").annotate(**measures)
    }
    per_day = [
        {
            **dict.fromkeys(counted, 0),
            **{k: v or 0 for k, v in daily.get(day, {}).items() if k in counted},
        }
        for day in days
    ]
    totals = {name: sum(row[name] for row in per_day) for name in counted}
    finished = totals["ready"] + totals["failed"] + totals["aborted"] + totals["expired"]

    ready = uploads.filter(state=UploadState.READY, ready_at__isnull=False)
    (ready_median,) = percentiles(ready, to_ready, (0.5,))
    if postgres:
        ready_daily, seconds_daily, memory_daily = (
            {day: (row[a], row[b]) for day, row in daily.items() if row[a] is not None}
            for a, b in (
                ("ready_p50", "ready_p95"),
                ("seconds_p50", "seconds_max"),
                ("memory_p50", "memory_max"),
            )
        )
    else:
        ready_daily = daily_percentiles(ready, started_day, to_ready)
        worked = uploads.filter(result__has_key="worker")
        seconds_daily = daily_percentiles(worked, started_day, worker_seconds, fractions=(0.5,))
        memory_daily = daily_percentiles(worked, started_day, worker_memory, fractions=(0.5,))

    stored_ever = Upload.objects.filter(state=UploadState.READY)
    if window.purpose:
        stored_ever = stored_ever.filter(purpose=window.purpose)
    stored_in_total = stored_ever.aggregate(total=Sum("size"))["total"] or 0

    headline = [
        ("Uploads started", f"{totals['started']:,}"),
        ("Completion rate", _percent(totals["ready"], finished)),
        ("Ready", f"{totals['ready']:,}"),
        ("Failed", f"{totals['failed']:,}"),
        ("Aborted", f"{totals['aborted']:,}"),
        ("Expired", f"{totals['expired']:,}"),
        ("Still open", f"{totals['open']:,}"),
        ("Time to ready, median", _duration(ready_median)),
        ("Bytes stored in the window", _size(totals["stored"])),
        ("Bytes stored in total", _size(stored_in_total)),
        ("Parts retried", f"{totals['retried']:,}"),
        ("Uploads resumed", f"{totals['resumed']:,}"),
    ]
    figures = [
        Figure(
            slug="uploads-per-day",
            title="Uploads started per day, by how they ended",
            columns=["day", "started", "ready", "failed", "aborted", "expired", "still open"],
            rows=[
                [day, r["started"], r["ready"], r["failed"], r["aborted"], r["expired"], r["open"]]
                for day, r in zip(days, per_day, strict=True)
            ],
            chart="stacked",
            series=(
                Series("ready", "good"),
                Series("failed", "bad"),
                Series("aborted", "neutral"),
                Series("expired", "warn"),
                Series("still open", "info"),
            ),
        ),
        Figure(
            slug="completion-rate",
            title="Completion rate per day",
            columns=["day", "completion rate (%)", "ready", "ended"],
            rows=[
                [day, _ratio(r["ready"], _ended(r)), r["ready"], _ended(r)]
                for day, r in zip(days, per_day, strict=True)
            ],
            chart="lines",
            series=(Series("completion rate (%)", "good"),),
            unit="percent",
            note="Ready ÷ uploads that ended (ready, failed, aborted or expired).",
        ),
        Figure(
            slug="time-to-ready",
            title="Time from start to ready",
            columns=["day", "p50 (s)", "p95 (s)"],
            rows=[[day, *ready_daily.get(day, (None, None))] for day in days],
            chart="lines",
            series=(Series("p50 (s)", "info"), Series("p95 (s)", "warn")),
            unit="seconds",
            note="From the create call to ready: the transfer, any pauses, and the worker.",
        ),
        throughput_figure(uploads),
        Figure(
            slug="bytes-stored",
            title="Bytes stored per day",
            columns=["day", "bytes"],
            rows=[[day, r["stored"]] for day, r in zip(days, per_day, strict=True)],
            chart="stacked",
            series=(Series("bytes", "info"),),
            unit="bytes",
            note="The size of the uploads that became ready, by the day they started.",
        ),
        Figure(
            slug="client-trouble",
            title="Parts retried and uploads resumed",
            columns=["day", "parts retried", "uploads resumed"],
            rows=[[day, r["retried"], r["resumed"]] for day, r in zip(days, per_day, strict=True)],
            chart="lines",
            series=(Series("parts retried", "warn"), Series("uploads resumed", "info")),
            note="As clients report them in their progress and complete calls (the browser uploader and the Python client do).",
        ),
        Figure(
            slug="worker-time",
            title="Worker time per task",
            columns=["day", "median (s)", "max (s)"],
            rows=[[day, *seconds_daily.get(day, (None, None))] for day in days],
            chart="lines",
            series=(Series("median (s)", "info"), Series("max (s)", "warn")),
            unit="seconds",
        ),
        Figure(
            slug="worker-memory",
            title="Worker peak memory per task",
            columns=["day", "median (bytes)", "max (bytes)"],
            rows=[[day, *memory_daily.get(day, (None, None))] for day in days],
            chart="lines",
            series=(Series("median (bytes)", "info"), Series("max (bytes)", "warn")),
            unit="bytes",
            note="The worker process's peak resident memory (VmHWM) when the task ended.",
        ),
        failure_figure(uploads),
        *slowest_and_largest(uploads),
    ]
    return Section(slug="uploads", title="Uploads", headline=headline, figures=figures)


def _throughput():
    """Each upload's size over its transfer time, in MB/s; NULL until its bytes all arrived."""
    seconds = Seconds(F("completing_at"), F("created_at"))
    return (Cast(F("size"), FloatField()) / NullIf(seconds, 0.0)) / MB


def throughput_buckets() -> list[tuple[float, float | None]]:
    return list(zip((0, *THROUGHPUT_EDGES), (*THROUGHPUT_EDGES, None), strict=True))


class WidthBucket(Func):
    """Which bucket a value falls in, counting the edges at or below it: 0 below the first
    edge, len(edges) from the last one on (the rule of ``bisect_right``)."""

    output_field = IntegerField()

    def __init__(self, expression, edges):
        self.edges = tuple(float(edge) for edge in edges)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        array = ", ".join(["%s"] * len(self.edges))
        return f"width_bucket({value}, ARRAY[{array}]::double precision[])", (
            *params,
            *self.edges,
        )

    def as_sql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        cases = " ".join(f"WHEN {value} < %s THEN {n}" for n in range(len(self.edges)))
        every = [*params, *(param for edge in self.edges for param in (*params, edge))]
        sql = f"(CASE WHEN {value} IS NULL THEN NULL {cases} ELSE {len(self.edges)} END)"
        return sql, tuple(every)


def throughput_figure(uploads) -> Figure:
    found = dict(
        uploads.annotate(bucket=WidthBucket(_throughput(), THROUGHPUT_EDGES))
        .filter(bucket__isnull=False)
        .values_list("bucket")
        .annotate(count=Count("pk"))
        .values_list("bucket", "count")
    )
    counts = [found.get(n, 0) for n in range(len(THROUGHPUT_EDGES) + 1)]
    rows = [
        [
            f"{_number(low)}–{_number(high)}" if high is not None else f"≥ {_number(low)}",
            low,
            high,
            count,
        ]
        for (low, high), count in zip(throughput_buckets(), counts, strict=True)
    ]
    return Figure(
        slug="throughput",
        title="Client throughput (MB/s)",
        columns=["MB/s", "from", "below", "uploads"],
        rows=rows,
        chart="histogram",
        series=(Series("uploads", "info"),),
        note="Each upload's size over its transfer time (create call to complete call).",
    )


def failure_figure(uploads) -> Figure:
    reasons = (
        uploads.filter(state=UploadState.FAILED)
        .values("error")
        .annotate(count=Count("pk"))
        .order_by("-count", "error")[:TOP]
    )
    return Figure(
        slug="failure-reasons",
        title="Failure reasons",
        columns=["reason", "uploads"],
        rows=[[row["error"] or "(no reason)", row["count"]] for row in reasons],
    )


def slowest_and_largest(uploads) -> list[Figure]:
    fields = ("pk", "filename", "purpose", "state", "size")
    slowest = list(
        uploads.filter(state=UploadState.READY, ready_at__isnull=False)
        .annotate(seconds=Seconds(F("ready_at"), F("created_at")))
        .order_by("-seconds", "pk")
        .values(*fields, "seconds")[:TOP]
    )
    largest = list(uploads.order_by("-size", "pk").values(*fields, "created_at")[:TOP])
    return [
        Figure(
            slug="slowest-uploads",
            title="Slowest uploads (start to ready)",
            columns=["upload", "purpose", "size (bytes)", "seconds", "id"],
            rows=[
                [u["filename"], u["purpose"], u["size"], round(u["seconds"], 3), str(u["pk"])]
                for u in slowest
            ],
            links=[_admin_link(u["pk"]) for u in slowest],
            hidden=("id",),
        ),
        Figure(
            slug="largest-uploads",
            title="Largest uploads",
            columns=["upload", "purpose", "size (bytes)", "state", "id"],
            rows=[
                [u["filename"], u["purpose"], u["size"], u["state"], str(u["pk"])] for u in largest
            ],
            links=[_admin_link(u["pk"]) for u in largest],
            hidden=("id",),
        ),
    ]


def daily_percentiles(queryset, day, expression, fractions=(0.5, 0.95)) -> dict:
    """``{day: (percentile, …)}`` of ``expression``; with one fraction, ``(median, max)``.

    Postgres computes them grouped by day (``percentile_cont``); elsewhere (SQLite, for ``make
    run``) the values are read and interpolated the same way in Python.
    """
    with_max = len(fractions) == 1
    if connections[queryset.db].vendor == "postgresql":
        aggregates = {f"p{n}": PercentileCont(expression, f) for n, f in enumerate(fractions)}
        if with_max:
            aggregates["max"] = Max(expression)
        rows = (
            queryset.annotate(day=day, value=expression)
            .filter(value__isnull=False)
            .values("day")
            .annotate(**aggregates)
        )
        names = [*(f"p{n}" for n in range(len(fractions))), *(["max"] if with_max else [])]
        return {row["day"]: tuple(row[name] for name in names) for row in rows}
    values = defaultdict(list)
    for found_day, value in (
        queryset.annotate(day=day, value=expression)
        .filter(value__isnull=False)
        .values_list("day", "value")
    ):
        values[found_day].append(float(value))
    figures = {}
    for found_day, found in values.items():
        found.sort()
        figures[found_day] = tuple(
            [*(interpolated(found, f) for f in fractions), *([found[-1]] if with_max else [])]
        )
    return figures


def worker_figure(name: str, output_field):
    """One of the figures the worker records for its task in ``result["worker"]``."""
    return Cast(KeyTextTransform(name, KeyTransform("worker", "result")), output_field)


def interpolated(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks, as Postgres's ``percentile_cont``."""
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bucket_of(value: float) -> int:
    """Which throughput bucket a value falls in (the same rule as the SQL above)."""
    return bisect.bisect_right(THROUGHPUT_EDGES, value)


def _ended(row) -> int:
    return row["ready"] + row["failed"] + row["aborted"] + row["expired"]


def _ratio(part, whole):
    return round(100 * part / whole, 1) if whole else None


def _percent(part, whole) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _number(value) -> str:
    return f"{value:g}"


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:,.1f} s"
    return f"{seconds / 60:,.1f} min"


def _size(value) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,} B"


def _admin_link(pk) -> str:
    return reverse("admin:uploads_upload_change", args=[pk])
