"""The engine's own section of the analytics page: how uploads went.

As in ``upload_report``, the upload cohort is the uploads *started* in the window, grouped by
the day they started, so every rate has one denominator. Every query groups in the database;
with the indexes on ``created_at`` (and ``purpose, created_at``) a year of uploads is one range
scan per figure.
"""

from __future__ import annotations

from datetime import UTC

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse

from uploads.core.models import OPEN_STATES, Upload, UploadState
from uploads.reports import expressions, sql
from uploads.reports import formatting as fmt
from uploads.reports.expressions import daily_percentiles, percentiles
from uploads.reports.page import TOP, Figure, Section, Series, Window
from uploads.reports.sql import PercentileCont, WidthBucket

# Client throughput buckets, MB/s: wide enough for a modem and a data centre alike.
THROUGHPUT_EDGES = (0.5, 1, 2, 5, 10, 20, 50, 100)


def window_uploads(window: Window):
    uploads = Upload.objects.filter(created_at__gte=window.since, created_at__lt=window.until)
    if window.purpose:
        uploads = uploads.filter(purpose=window.purpose)
    return uploads.order_by()


def upload_section(window: Window) -> Section:
    uploads = window_uploads(window)
    days = window.days()
    started_day = TruncDate("created_at", tzinfo=UTC)

    to_ready = expressions.time_to_ready()
    worker_seconds = expressions.worker_seconds()
    worker_memory = expressions.peak_memory()
    measures = {
        "started": Count("pk"),
        **expressions.state_counts(),
        "open": Count("pk", filter=Q(state__in=OPEN_STATES)),
        "stored": Sum("size", filter=Q(state=UploadState.READY)),
        "retried": Sum("parts_retried"),
        "resumed": Count("pk", filter=Q(resumed=True)),
    }
    counted = list(measures)
    postgres = sql.has_percentile_cont(uploads.db)
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
    finished = expressions.finished(totals)

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
        ("Completion rate", fmt.percent_of(totals["ready"], finished)),
        ("Ready", f"{totals['ready']:,}"),
        ("Failed", f"{totals['failed']:,}"),
        ("Aborted", f"{totals['aborted']:,}"),
        ("Expired", f"{totals['expired']:,}"),
        ("Still open", f"{totals['open']:,}"),
        ("Time to ready, median", fmt.duration(ready_median)),
        ("Bytes stored in the window", fmt.size(totals["stored"])),
        ("Bytes stored in total", fmt.size(stored_in_total)),
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
                [
                    day,
                    fmt.ratio(r["ready"], expressions.finished(r)),
                    r["ready"],
                    expressions.finished(r),
                ]
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


def throughput_buckets() -> list[tuple[float, float | None]]:
    return list(zip((0, *THROUGHPUT_EDGES), (*THROUGHPUT_EDGES, None), strict=True))


def throughput_figure(uploads) -> Figure:
    found = dict(
        uploads.annotate(bucket=WidthBucket(expressions.throughput(), THROUGHPUT_EDGES))
        .filter(bucket__isnull=False)
        .values_list("bucket")
        .annotate(count=Count("pk"))
        .values_list("bucket", "count")
    )
    counts = [found.get(n, 0) for n in range(len(THROUGHPUT_EDGES) + 1)]
    rows = [
        [
            f"{fmt.number(low)}–{fmt.number(high)}" if high is not None else f"≥ {fmt.number(low)}",
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
    return Figure(
        slug="failure-reasons",
        title="Failure reasons",
        columns=["reason", "uploads"],
        rows=[list(reason) for reason in expressions.failure_reasons(uploads, TOP)],
    )


def slowest_and_largest(uploads) -> list[Figure]:
    fields = ("pk", "filename", "purpose", "state", "size")
    slowest = list(
        uploads.filter(state=UploadState.READY, ready_at__isnull=False)
        .annotate(seconds=expressions.time_to_ready())
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


def _admin_link(pk) -> str:
    return reverse("admin:uploads_upload_change", args=[pk])
