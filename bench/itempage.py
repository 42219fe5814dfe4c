"""Benchmark 7: the item page of an item with a million downloads.

The page shows the item's downloads today, this week and this month. S7 sums them from the
per-day counts (``DownloadDay``: at most 30 rows a version, through the (item, day) index); the
baseline is the same page, in the same process and database, with the three figures counted from
the download rows directly (``COUNT(*)`` over the item's downloads since each window's start,
through the rows' ``created_at`` index). A third row renders the page without the figures, the
floor both sides stand on. Server time is the whole request through Django's test client
(middleware, view, template), without the network.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

from bench.common import bench_user, median, percentile, ratio, table

VERSIONS = 3
DAYS = 365


def _item_with_downloads(downloads: int):
    from django.db import connection

    from items import counts, services
    from items.models import Item, Version

    owner, _ = bench_user("bench-owner")
    item = services.item_save(
        item=Item(owner=owner, name="Marathon Infinity Redux", body="A scenario."),
        tag_names=["scenario"],
    )
    version_ids = [
        services.version_save(
            version=Version(item=item, name=f"1.{n}", link=f"https://example.org/{n}.zip")
        ).pk
        for n in range(VERSIONS)
    ]
    # Spread evenly over a year, as a popular item's downloads are.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO items_download (version_id, user_id, created_at)
            SELECT (%s::bigint[])[1 + g %% %s], NULL,
                   now() - (g %% %s) * interval '1 day' - (g %% 86400) * interval '1 second'
            FROM generate_series(1, %s) AS g
            """,
            [version_ids, VERSIONS, DAYS, downloads],
        )
        cursor.execute("ANALYZE items_download")
    for version in Version.objects.filter(item=item):
        Version.objects.filter(pk=version.pk).update(downloads_count=version.downloads.count())
    counts.item_recount(item.pk)
    counts.download_days_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE items_downloadday")
    return item


def _windows_from_rows(item, **_):
    """The baseline: each window counted from the download rows (UTC days, as S7's)."""
    from django.utils import timezone

    from items.models import Download
    from items.selectors import WINDOWS

    start_of_today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Download.objects.filter(version__item=item)
    return {
        window: rows.filter(created_at__gte=start_of_today - timedelta(days=days - 1)).count()
        for window, days in WINDOWS.items()
    }


@contextmanager
def _windows(way: str):
    from items import selectors

    real = selectors.download_windows
    replacement = {
        "s7": real,
        "rows": _windows_from_rows,
        "none": lambda item, **_: {"day": 0, "week": 0, "month": 0},
    }[way]
    selectors.download_windows = replacement
    try:
        yield
    finally:
        selectors.download_windows = real


def _time_page(path: str, way: str, requests: int) -> list[float]:
    from django.conf import settings
    from django.test import Client, override_settings

    client = Client(HTTP_HOST="127.0.0.1")
    times = []
    # The bench runs no collectstatic, so static URLs come from the plain storage (both sides).
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with _windows(way), override_settings(STORAGES=plain_static):
        client.get(path)  # warm the caches and the connection
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    return times


def run(services, sizes, workdir):
    from items import selectors

    downloads = sizes.page_downloads
    started = time.perf_counter()
    item = _item_with_downloads(downloads)
    setup = time.perf_counter() - started
    path = item.get_absolute_url()
    s7_figures = selectors.download_windows(item)
    row_figures = _windows_from_rows(item)
    assert s7_figures == row_figures, (s7_figures, row_figures)

    # Interleaved rounds, so that neither side gets a quieter moment of the shared machine.
    times: dict[str, list[float]] = {"rows": [], "s7": [], "none": []}
    for _ in range(sizes.page_rounds):
        for way in times:
            times[way] += _time_page(path, way, sizes.page_requests)
    baseline = median(times["rows"])
    labels = {
        "rows": "windows counted from the download rows (baseline)",
        "s7": "S7: windows summed from the per-day counts",
        "none": "the page without windows (floor)",
    }
    rows = [
        [labels[way], f"{median(t) * 1000:.1f}", f"{percentile(t, 95) * 1000:.1f}",
         ratio(median(t), baseline)]
        for way, t in times.items()
    ]  # fmt: skip
    text = "\n".join(
        [
            table(["item page", "server time (ms, median)", "p95 (ms)", "ratio to baseline"], rows),
            "",
            f"{downloads:,} download rows on the item's {VERSIONS} versions, spread over "
            f"{DAYS} days (set up and rolled up into day counts in {setup:.0f} s); "
            f"{sizes.page_rounds} rounds of {sizes.page_requests} requests a side. Both sides "
            f"show the same figures ({s7_figures['day']:,} today, {s7_figures['week']:,} this "
            f"week, {s7_figures['month']:,} this month). Target: S7 within a few ms of the "
            "floor, whatever the number of downloads.",
        ]
    )
    return text, times
