"""How uploads are going, for the people who run the site.

Every figure is computed by the database from the times each upload entered its states
(aggregates, and percentiles with Postgres's ``percentile_cont``; SQLite, which has none, takes
the nearest-rank value with ORDER BY/OFFSET). The cohort is the uploads *started* in the window,
so every rate has one denominator.

- upload time: created → completing (the uploader's transfer, including pauses), uploads whose
  bytes all arrived; throughput is their size over that time, in MB/s (10⁶ bytes);
- processing time: processing → ready; worker memory: the peak resident memory the worker
  recorded for each processed upload;
- completion rate: ready ÷ uploads that reached an end (ready, failed, aborted, expired);
- timeouts: uploads that reached their expiry unfinished (expired), and processing that hit the
  worker's time limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Aggregate, BigIntegerField, Count, F, FloatField, Func, Max, Q, Sum
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, NullIf
from django.utils import timezone

from uploads.core.models import Upload, UploadState

PROCESSING_TIMEOUT_PREFIX = "Processing took longer than"
MB = 1_000_000


class Seconds(Func):
    """``end - start`` in seconds, as a float."""

    output_field = FloatField()
    arg_joiner = " - "

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        end, start = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"((julianday({end[0]}) - julianday({start[0]})) * 86400.0)", (*end[1], *start[1])


class PercentileCont(Aggregate):
    """Postgres's continuous percentile (linear interpolation between the nearest ranks)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentiles(queryset, expression, fractions=(0.5, 0.95)) -> list[float | None]:
    """The given percentiles of ``expression`` over ``queryset``, NULLs left out."""
    if connections[queryset.db].vendor == "postgresql":
        values = queryset.aggregate(
            **{f"p{i}": PercentileCont(expression, f) for i, f in enumerate(fractions)}
        )
        return [values[f"p{i}"] for i in range(len(fractions))]
    ranked = queryset.annotate(_value=expression).filter(_value__isnull=False).order_by("_value")
    count = ranked.count()
    if not count:
        return [None] * len(fractions)
    column = ranked.values_list("_value", flat=True)
    return [column[max(0, math.ceil(f * count) - 1)] for f in fractions]


@dataclass(frozen=True)
class UploadReport:
    since: datetime
    until: datetime
    purpose: str | None
    started: int
    ready: int
    failed: int
    aborted: int
    expired: int
    in_progress: int
    bytes_ready: int
    completion_rate: float | None
    upload_seconds_median: float | None
    upload_seconds_p95: float | None
    throughput_median: float | None  # MB/s
    throughput_p95: float | None
    processing_seconds_median: float | None
    processing_seconds_p95: float | None
    peak_memory_median: float | None  # bytes
    peak_memory_max: int | None
    processing_timeouts: int
    failure_reasons: list[tuple[str, int]]

    @property
    def finished(self) -> int:
        return self.ready + self.failed + self.aborted + self.expired

    def rows(self) -> list[tuple[str, str]]:
        """The figures as (label, value) for people, in the order they are asked about."""
        return [
            ("uploads started", f"{self.started:,}"),
            ("ready (completed)", f"{self.ready:,}"),
            ("failed", f"{self.failed:,}"),
            ("aborted", f"{self.aborted:,}"),
            ("expired (timeouts)", f"{self.expired:,}"),
            ("still in progress", f"{self.in_progress:,}"),
            ("completion rate", _percent(self.completion_rate)),
            ("upload time, median", _seconds(self.upload_seconds_median)),
            ("upload time, p95", _seconds(self.upload_seconds_p95)),
            ("throughput, median", _rate(self.throughput_median)),
            ("throughput, p95", _rate(self.throughput_p95)),
            ("processing time, median", _seconds(self.processing_seconds_median)),
            ("processing time, p95", _seconds(self.processing_seconds_p95)),
            ("worker peak memory, median", _bytes(self.peak_memory_median)),
            ("worker peak memory, max", _bytes(self.peak_memory_max)),
            ("processing timeouts", f"{self.processing_timeouts:,}"),
            ("bytes stored (ready)", f"{self.bytes_ready:,}"),
        ]


def upload_report(
    *, days: int = 7, purpose: str | None = None, now: datetime | None = None
) -> UploadReport:
    until = now or timezone.now()
    since = until - timedelta(days=days)
    uploads = Upload.objects.filter(created_at__gte=since, created_at__lte=until)
    if purpose:
        uploads = uploads.filter(purpose=purpose)

    counts = uploads.aggregate(
        started=Count("pk"),
        ready=Count("pk", filter=Q(state=UploadState.READY)),
        failed=Count("pk", filter=Q(state=UploadState.FAILED)),
        aborted=Count("pk", filter=Q(state=UploadState.ABORTED)),
        expired=Count("pk", filter=Q(state=UploadState.EXPIRED)),
        in_progress=Count(
            "pk",
            filter=Q(
                state__in=(UploadState.UPLOADING, UploadState.COMPLETING, UploadState.PROCESSING)
            ),
        ),
        processing_timeouts=Count(
            "pk",
            filter=Q(state=UploadState.FAILED, error__startswith=PROCESSING_TIMEOUT_PREFIX),
        ),
        bytes_ready=Sum("size", filter=Q(state=UploadState.READY)),
        peak_memory_max=Max(_peak_rss()),
    )
    finished = counts["ready"] + counts["failed"] + counts["aborted"] + counts["expired"]

    transferred = uploads.filter(completing_at__isnull=False)
    upload_seconds = Seconds(F("completing_at"), F("created_at"))
    throughput = Cast(F("size"), FloatField()) / NullIf(upload_seconds, 0.0) / MB
    upload_median, upload_p95 = percentiles(transferred, upload_seconds)
    throughput_median, throughput_p95 = percentiles(transferred, throughput)
    processed = uploads.filter(state=UploadState.READY, processing_at__isnull=False)
    processing_median, processing_p95 = percentiles(
        processed, Seconds(F("ready_at"), F("processing_at"))
    )
    (memory_median,) = percentiles(uploads, _peak_rss(), (0.5,))

    reasons = (
        uploads.filter(state=UploadState.FAILED)
        .values("error")
        .annotate(count=Count("pk"))
        .order_by("-count", "error")[:20]
    )
    return UploadReport(
        since=since,
        until=until,
        purpose=purpose,
        started=counts["started"],
        ready=counts["ready"],
        failed=counts["failed"],
        aborted=counts["aborted"],
        expired=counts["expired"],
        in_progress=counts["in_progress"],
        bytes_ready=counts["bytes_ready"] or 0,
        completion_rate=counts["ready"] / finished if finished else None,
        upload_seconds_median=upload_median,
        upload_seconds_p95=upload_p95,
        throughput_median=throughput_median,
        throughput_p95=throughput_p95,
        processing_seconds_median=processing_median,
        processing_seconds_p95=processing_p95,
        peak_memory_median=memory_median,
        peak_memory_max=counts["peak_memory_max"],
        processing_timeouts=counts["processing_timeouts"],
        failure_reasons=[(row["error"] or "(no reason)", row["count"]) for row in reasons],
    )


def _peak_rss():
    return Cast(KeyTextTransform("peak_rss", KeyTransform("worker", "result")), BigIntegerField())


def _percent(value):
    return "—" if value is None else f"{value * 100:.1f}%"


def _seconds(value):
    return "—" if value is None else f"{value:,.2f} s"


def _rate(value):
    return "—" if value is None else f"{value:,.2f} MB/s"


def _bytes(value):
    return "—" if value is None else f"{value / 1024 / 1024:,.1f} MiB"
