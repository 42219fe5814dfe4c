"""The reports' measures, written once: the analytics page and ``upload_report`` both read them.

Percentiles are continuous (linear interpolation between the two nearest ranks, Postgres's
``percentile_cont``), everywhere. What the reports summarise are durations, rates and bytes,
measured on a continuous scale; there the median of an even count is the midpoint of the two
middle values, and a p95 moves smoothly as uploads are added instead of jumping from one
upload's value to the next. Postgres computes it in the same grouped pass as the counts; on a
database without it (SQLite) the values are read and interpolated in Python by the same rule.
"""

from __future__ import annotations

import math
from collections import defaultdict

from django.db.models import BigIntegerField, Count, F, FloatField, Max, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, NullIf

from uploads.core.models import FINAL_STATES, UploadState
from uploads.reports import sql
from uploads.reports.sql import PercentileCont, Seconds

MB = 1_000_000
PROCESSING_TIMEOUT_PREFIX = "Processing took longer than"


def transfer_seconds():
    """From the create call to the complete call: the transfer, pauses included."""
    return Seconds(F("completing_at"), F("created_at"))


def throughput():
    """Each upload's size over its transfer time, in MB/s; NULL until its bytes all arrived."""
    return Cast(F("size"), FloatField()) / NullIf(transfer_seconds(), 0.0) / MB


def time_to_ready():
    return Seconds(F("ready_at"), F("created_at"))


def processing_seconds():
    return Seconds(F("ready_at"), F("processing_at"))


def worker_measure(name: str, output_field):
    """One of the figures the worker records for its task in ``result["worker"]``."""
    return Cast(KeyTextTransform(name, KeyTransform("worker", "result")), output_field)


def worker_seconds():
    return worker_measure("seconds", FloatField())


def peak_memory():
    """The worker process's peak resident memory (VmHWM) when its task ended, in bytes."""
    return worker_measure("peak_rss", BigIntegerField())


def state_counts() -> dict:
    """Aggregates counting the uploads in each state that ends one."""
    return {str(state): Count("pk", filter=Q(state=state)) for state in FINAL_STATES}


def finished(counts) -> int:
    """The uploads that reached an end: the denominator of the completion rate."""
    return sum(counts[str(state)] for state in FINAL_STATES)


def processing_timed_out() -> Q:
    return Q(state=UploadState.FAILED, error__startswith=PROCESSING_TIMEOUT_PREFIX)


def failure_reasons(uploads, top: int) -> list[tuple[str, int]]:
    """The ``top`` commonest errors of the failed uploads, commonest first."""
    reasons = (
        uploads.filter(state=UploadState.FAILED)
        .values("error")
        .annotate(count=Count("pk"))
        .order_by("-count", "error")[:top]
    )
    return [(row["error"] or "(no reason)", row["count"]) for row in reasons]


def interpolated(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks, as Postgres's ``percentile_cont``."""
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentiles(queryset, expression, fractions=(0.5, 0.95)) -> list[float | None]:
    """The given percentiles of ``expression`` over ``queryset``, NULLs left out."""
    if sql.has_percentile_cont(queryset.db):
        values = queryset.aggregate(
            **{f"p{n}": PercentileCont(expression, f) for n, f in enumerate(fractions)}
        )
        return [values[f"p{n}"] for n in range(len(fractions))]
    found = sorted(
        float(value)
        for value in queryset.annotate(_value=expression)
        .filter(_value__isnull=False)
        .values_list("_value", flat=True)
    )
    return [interpolated(found, f) if found else None for f in fractions]


def daily_percentiles(queryset, day, expression, fractions=(0.5, 0.95)) -> dict:
    """``{day: (percentile, …)}`` of ``expression``; with one fraction, ``(median, max)``."""
    with_max = len(fractions) == 1
    if sql.has_percentile_cont(queryset.db):
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
