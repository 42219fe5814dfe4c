"""How uploads are going, for the people who run the site.

Every figure is computed by the database from the times each upload entered its states
(aggregates, and the continuous percentiles of ``uploads.reports.expressions``). The cohort is
the uploads *started* in the window, so every rate has one denominator.

- upload time: created → completing (the uploader's transfer, including pauses), uploads whose
  bytes all arrived; throughput is their size over that time, in MB/s (10⁶ bytes);
- processing time: processing → ready; worker memory: the peak resident memory the worker
  recorded for each processed upload;
- completion rate: ready ÷ uploads that reached an end (ready, failed, aborted, expired);
- timeouts: uploads that reached their expiry unfinished (expired), and processing that hit the
  worker's time limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from uploads.core.models import OPEN_STATES, Upload, UploadState
from uploads.reports import expressions
from uploads.reports import formatting as fmt
from uploads.reports.expressions import percentiles

REPORTED_REASONS = 20


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
            ("completion rate", fmt.percent(self.completion_rate)),
            ("upload time, median", fmt.seconds(self.upload_seconds_median)),
            ("upload time, p95", fmt.seconds(self.upload_seconds_p95)),
            ("throughput, median", fmt.rate(self.throughput_median)),
            ("throughput, p95", fmt.rate(self.throughput_p95)),
            ("processing time, median", fmt.seconds(self.processing_seconds_median)),
            ("processing time, p95", fmt.seconds(self.processing_seconds_p95)),
            ("worker peak memory, median", fmt.mebibytes(self.peak_memory_median)),
            ("worker peak memory, max", fmt.mebibytes(self.peak_memory_max)),
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
        **expressions.state_counts(),
        in_progress=Count("pk", filter=Q(state__in=OPEN_STATES)),
        processing_timeouts=Count("pk", filter=expressions.processing_timed_out()),
        bytes_ready=Sum("size", filter=Q(state=UploadState.READY)),
        peak_memory_max=Max(expressions.peak_memory()),
    )
    finished = expressions.finished(counts)

    transferred = uploads.filter(completing_at__isnull=False)
    upload_median, upload_p95 = percentiles(transferred, expressions.transfer_seconds())
    throughput_median, throughput_p95 = percentiles(transferred, expressions.throughput())
    processed = uploads.filter(state=UploadState.READY, processing_at__isnull=False)
    processing_median, processing_p95 = percentiles(processed, expressions.processing_seconds())
    (memory_median,) = percentiles(uploads, expressions.peak_memory(), (0.5,))
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
        failure_reasons=expressions.failure_reasons(uploads, REPORTED_REASONS),
    )
