"""Benchmark 15: the API's lists at the live site's scale.

The bench database gets the live site's size (600 items, 1,500 versions, 1,400 reviews, 60 tags,
screenshots, and BENCH_APILISTS_DOWNLOADS download rows, 12 million by default, generated inside
Postgres with the table's secondary indexes set aside and rebuilt after). Each list is then read
at its first, a middle and its last page, through the whole Django stack (test client:
middleware, throttle, view, serializer), two ways in the same process and database:

- S7: cursor pages, each reached by the cursor its previous page links to;
- the baseline: the page numbers the API had before (DRF's PageNumberPagination: a COUNT of the
  whole list for every page, then OFFSET past every earlier row).

Both ways must answer the same rows for each page.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

from bench.common import bench_user, median, percentile, ratio, table

ITEMS, VERSIONS, REVIEWS, TAGS, SCREENSHOTS = 600, 1_500, 1_400, 60, 2_000
LISTS = ("items", "versions", "downloads", "reviews", "screenshots", "tags")
TARGET_MS = 50


def _fill(downloads: int) -> float:
    """Adds the live site's numbers of rows to whatever earlier benchmarks left, and download
    rows up to ``downloads`` (benchmark 13's import leaves the live site's own)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from items.models import Download, Item, Review, Screenshot, Tag, Version
    from uploads.core.models import Upload, UploadState

    started = time.perf_counter()
    owner, _ = bench_user("bench-lists-owner")
    User = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        tags = Tag.objects.bulk_create(
            Tag(name=f"Lists tag {n:02}", permalink=f"lists-tag-{n:02}") for n in range(TAGS)
        )
        items = Item.objects.bulk_create(
            Item(owner=owner, name=f"Item {n}", permalink=f"lists-item-{n}", body="A scenario.")
            for n in range(ITEMS)
        )
        Item.tags.through.objects.bulk_create(
            Item.tags.through(item_id=item.pk, tag_id=tags[n % TAGS].pk)
            for n, item in enumerate(items)
        )
        versions = Version.objects.bulk_create(
            Version(item=items[n % ITEMS], name=f"1.{n}", link=f"https://example.org/{n}.zip")
            for n in range(VERSIONS)
        )
        reviewers = User.objects.bulk_create(
            User(username=f"lists-reviewer{n}", email=f"lists-reviewer{n}@example.org", password="")
            for n in range(REVIEWS)
        )
        Review.objects.bulk_create(
            Review(version=versions[n % VERSIONS], user=reviewers[n], title="Good", rating=4)
            for n in range(REVIEWS)
        )
        renditions = {
            name: {"key": f"uploads/screenshot/bench/{name}.jpg", "width": w, "height": h}
            for name, w, h in (("thumb", 300, 225), ("content", 920, 690))
        }
        uploads = Upload.objects.bulk_create(
            Upload(
                owner=owner, purpose="screenshot", filename=f"shot{n}.png",
                key=f"uploads/screenshot/bench-lists-{n}/shot.png", size=1000,
                content_type="image/png", part_size=1000, part_count=1,
                state=UploadState.READY, expires_at=now, ready_at=now,
                result={"renditions": renditions},
            )
            for n in range(SCREENSHOTS)
        )  # fmt: skip
        Screenshot.objects.bulk_create(
            Screenshot(item=items[n % ITEMS], upload=upload, title=f"Shot {n}")
            for n, upload in enumerate(uploads)
        )
    missing = downloads - Download.objects.count()
    if missing <= 0:
        return time.perf_counter() - started
    first_version, last_version = versions[0].pk, versions[-1].pk
    # One INSERT's rows get consecutive ids, so a version is an addition (no array per row).
    assert last_version - first_version + 1 == VERSIONS, (first_version, last_version)
    with connection.cursor() as cursor:
        # Rebuilding the secondary indexes once is several times faster than keeping them up
        # to date row by row.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items_download'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # The generated rows are right by construction: checking each one's keys (the foreign
        # key triggers) would take longer than generating them.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            """
            INSERT INTO items_download (version_id, user_id, created_at)
            SELECT %s + g %% %s, NULL, now() - (g %% 86400) * interval '1 minute'
            FROM generate_series(1, %s) AS g
            """,
            [first_version, VERSIONS, missing],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE items_download")
    return time.perf_counter() - started


@contextmanager
def _way(way: str):
    """Every list's pagination swapped for the old page numbers, or left as S7's; the public
    throttle's rate raised out of the way (it still runs, one Redis round trip a request)."""
    from rest_framework.pagination import PageNumberPagination
    from rest_framework.throttling import SimpleRateThrottle

    from items import api

    viewsets = [
        api.ItemViewSet, api.VersionViewSet, api.DownloadViewSet, api.ReviewViewSet,
        api.ScreenshotViewSet, api.TagViewSet,
    ]  # fmt: skip
    saved = [viewset.pagination_class for viewset in viewsets]
    rates = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**rates, "public_read": "100000000/min"}
    if way == "pages":
        for viewset in viewsets:
            viewset.pagination_class = PageNumberPagination
    try:
        yield
    finally:
        for viewset, pagination in zip(viewsets, saved, strict=True):
            viewset.pagination_class = pagination
        SimpleRateThrottle.THROTTLE_RATES = rates


def _pages(name: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """The list's rows, and for each of its first, middle and last pages: S7's URL (the cursor
    the page before links to) and the old page number's URL."""
    from rest_framework.pagination import Cursor

    from items import api
    from s7.pagination import NewestFirstCursorPagination

    viewset = {
        "items": api.ItemViewSet, "versions": api.VersionViewSet,
        "downloads": api.DownloadViewSet, "reviews": api.ReviewViewSet,
        "screenshots": api.ScreenshotViewSet, "tags": api.TagViewSet,
    }[name]  # fmt: skip
    path = f"/api/{name}/"
    size = NewestFirstCursorPagination.page_size
    ordering = tuple(getattr(viewset, "cursor_ordering", NewestFirstCursorPagination.ordering))
    column = ordering[0].lstrip("-")
    rows = viewset.queryset.model.objects.count()
    last = max(1, math.ceil(rows / size))
    middle = max(1, (last + 1) // 2)
    paginator = NewestFirstCursorPagination()
    paginator.base_url = path
    ordered = viewset.queryset.model.objects.order_by(*ordering)
    pages = {}
    for label, number in (("first", 1), ("middle", middle), ("last", last)):
        if number == 1:
            cursor_url = path
        else:
            before = ordered.values_list(column, flat=True)[(number - 1) * size - 1]
            cursor_url = paginator.encode_cursor(Cursor(offset=0, reverse=False, position=before))
        pages[label] = (cursor_url, f"{path}?page={number}")
    return rows, pages


def _time(client, url: str, requests: int) -> tuple[list[float], list]:
    times = []
    ids = None
    client.get(url)  # warm the connection and the plan
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        ids = [row["id"] for row in response.json()["results"]]
    return times, ids


def run(services, sizes, workdir):
    from django.test import Client

    downloads = sizes.apilists_downloads
    setup = _fill(downloads)
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="203.0.113.15")
    rows, results = [], {}
    worst_s7 = 0.0
    for name in LISTS:
        count, pages = _pages(name)
        for label, (cursor_url, page_url) in pages.items():
            times = {"pages": [], "s7": []}
            answered = {}
            # Interleaved rounds, so that neither side gets a quieter moment of the machine.
            for _ in range(sizes.apilists_rounds):
                for way, url in (("pages", page_url), ("s7", cursor_url)):
                    with _way(way):
                        measured, answered[way] = _time(client, url, sizes.apilists_requests)
                    times[way] += measured
            assert answered["pages"] == answered["s7"], (name, label)
            baseline, s7 = median(times["pages"]), median(times["s7"])
            worst_s7 = max(worst_s7, s7)
            results[(name, label)] = times
            rows.append(
                [f"/api/{name}/", f"{count:,}", label, f"{baseline * 1000:.1f}",
                 f"{s7 * 1000:.1f}",
                 f"{percentile(times['s7'], 95) * 1000:.1f}", ratio(s7, baseline)]
            )  # fmt: skip
    text = "\n".join(
        [
            table(
                [
                    "list",
                    "rows",
                    "page",
                    "page numbers + COUNT (baseline, ms)",
                    "S7 cursor (ms, median)",
                    "S7 p95 (ms)",
                    "S7 / baseline",
                ],
                rows,
            ),  # fmt: skip
            "",
            f"The live site's numbers of items ({ITEMS}), versions, reviews and tags, "
            f"{SCREENSHOTS:,} screenshots and at least {downloads:,} download rows, beside what "
            f"earlier benchmarks left (the rows column; set up in {setup:.0f} s); 25 "
            f"rows a page; {sizes.apilists_rounds} rounds of {sizes.apilists_requests} "
            "requests a side, server time through Django's test client (no network). Both "
            "ways answered the same rows for every page. Target: every S7 page under "
            f"{TARGET_MS} ms; slowest S7 median here {worst_s7 * 1000:.1f} ms.",
        ]
    )
    return text, results
