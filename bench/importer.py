"""Benchmark 13: importing the live site (``import_simplici7y``) with its 12 million downloads.

A stand-in live database (``items.importer.live_schema``) is filled inside Postgres with
generate_series: the live site's size in people, items, versions and reviews, and
BENCH_IMPORT_DOWNLOADS download rows. The import is timed step by step, against a baseline
measured in the same run: the same rows piped by COPY into a bare table (no index, no key,
nothing checked), the least any import of them costs on this machine. Then a day of live-site
activity is added and the final delta (the switch-over's maintenance window) is timed.
Versions are links here: copying files is S3's work inside S3 and the worker's verification,
measured by benchmarks 1 and 5.
"""

from __future__ import annotations

import os
import time

import psycopg
from django.db import connection

from bench.common import ratio, table
from bench.services import PG
from items.importer.live_schema import LIVE_SCHEMA
from items.importer.run import Options, import_live_site
from items.models import DownloadDay

USERS, ITEMS, VERSIONS, REVIEWS, TAGS = 10_000, 600, 1_500, 1_400, 60


def _fill(url: str, downloads: int) -> None:
    with psycopg.connect(url, autocommit=True) as live:
        live.execute(LIVE_SCHEMA)
        # The generated rows are right by construction; the source's own keys would only
        # slow their generation.
        live.execute(
            "ALTER TABLE items_download DROP CONSTRAINT items_download_user_id_fkey,"
            " DROP CONSTRAINT items_download_version_id_fkey"
        )
        live.execute("DROP INDEX items_download_version")
        live.execute(
            "INSERT INTO items_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined) SELECT '', false, 'user' || n, 'User ' || n,"
            " '', 'user' || n || '@example.org', false, true, timestamptz '2007-01-01' + n * interval '1 hour'"
            f" FROM generate_series(1, {USERS}) n"
        )
        live.execute(
            "INSERT INTO items_tag (name, permalink) SELECT 'Tag ' || n, 'tag-' || n"
            f" FROM generate_series(1, {TAGS}) n"
        )
        live.execute(
            "INSERT INTO items_item (name, byline, body, user_id, permalink, created_at, updated_at)"
            " SELECT 'Item ' || n, 'By someone', repeat('A long description. ', 50),"
            f" n % {USERS} + 1, 'item-' || n, timestamptz '2007-01-01' + n * interval '1 day',"
            f" timestamptz '2007-01-01' + n * interval '1 day' FROM generate_series(1, {ITEMS}) n"
        )
        live.execute(
            "INSERT INTO items_item_tags (item_id, tag_id) SELECT n, n % 60 + 1"
            f" FROM generate_series(1, {ITEMS}) n"
        )
        live.execute(
            "INSERT INTO items_version (item_id, name, body, link, created_at, updated_at)"
            f" SELECT n % {ITEMS} + 1, 'v' || n, 'Notes.', 'https://example.org/' || n || '.zip',"
            " timestamptz '2007-01-02' + n * interval '5 hours',"
            f" timestamptz '2007-01-02' + n * interval '5 hours' FROM generate_series(1, {VERSIONS}) n"
        )
        live.execute(
            "INSERT INTO items_review (version_id, user_id, title, body, rating, created_at,"
            f" updated_at) SELECT n % {VERSIONS} + 1, n % {USERS} + 1, 'Review ' || n, 'Fine.',"
            f" n % 5 + 1, now(), now() FROM generate_series(1, {REVIEWS}) n"
        )
        _add_downloads(live, downloads, "2007-01-03", "2025-01-01")


def _add_downloads(live, count: int, first: str, last: str) -> None:
    live.execute(
        "INSERT INTO items_download (user_id, version_id, created_at, updated_at)"
        f" SELECT CASE WHEN n % 3 = 0 THEN NULL ELSE n % {USERS} + 1 END, n % {VERSIONS} + 1,"
        f" timestamptz '{first}' + (timestamptz '{last}' - timestamptz '{first}') * (n::float8 / {count}),"
        f" now() FROM generate_series(1, {count}) n"
    )


def _a_day_of_activity(url: str, downloads: int) -> None:
    with psycopg.connect(url, autocommit=True) as live:
        live.execute(
            "INSERT INTO items_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined) SELECT '', false, 'new' || n, 'New', '',"
            " 'new@example.org', false, true, now() FROM generate_series(1, 20) n"
        )
        live.execute(
            "UPDATE items_item SET body = body || ' Edited.', updated_at = now() WHERE id <= 5"
        )
        live.execute(
            "INSERT INTO items_version (item_id, name, body, link, created_at, updated_at)"
            " SELECT n, 'new', '', 'https://example.org/new.zip', now(), now()"
            " FROM generate_series(1, 3) n"
        )
        live.execute(
            "INSERT INTO items_review (version_id, user_id, title, body, rating, created_at,"
            " updated_at) SELECT n, n + 100, 'New review', '', 4, now(), now()"
            " FROM generate_series(1, 10) n"
        )
        _add_downloads(live, downloads, "2025-01-01", "2025-01-02")


def _baseline_copy(url: str) -> float:
    """The download rows piped by COPY into a bare table of the target database."""
    with connection.cursor() as wrapper:
        target = wrapper.cursor
        target.execute(
            "CREATE TABLE bench_bare_download"
            " (id bigint, version_id bigint, user_id bigint, created_at timestamptz)"
        )
        started = time.perf_counter()
        with (
            psycopg.connect(url) as live,
            live.cursor() as reader,
            reader.copy(
                "COPY (SELECT id, version_id, user_id, created_at FROM items_download"
                " ORDER BY id) TO STDOUT"
            ) as rows_out,
            target.copy("COPY bench_bare_download FROM STDIN") as rows_in,
        ):
            for block in rows_out:
                rows_in.write(block)
        elapsed = time.perf_counter() - started
        target.execute("DROP TABLE bench_bare_download")
    return elapsed


def run(services, sizes, workdir):
    name = f"s7_bench_{services.run_id}_live"
    url = f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        started = time.perf_counter()
        _fill(url, sizes.import_downloads)
        generated = time.perf_counter() - started
        baseline = _baseline_copy(url)
        # The import lands on an empty site, as on the day it moves: the rows other benchmarks
        # made in this database (their users, items and downloads) would collide with its ids.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE items_user, items_tag CASCADE")
        options = dict(source_url=url, bucket="none", wait=0, quiet=True)
        bulk = import_live_site(Options(**options))
        _a_day_of_activity(url, sizes.import_day_downloads)
        delta = import_live_site(Options(**options))
        again = import_live_site(Options(**options))
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    rows = bulk.rows["downloads"][1]
    days = DownloadDay.objects.count()
    steps = bulk.step_seconds
    text = table(
        ["run", "time (s)", "download rows", "rows/s", "ratio to baseline"],
        [
            ["bare COPY of the download rows (baseline)", f"{baseline:.1f}", f"{rows:,}",
             f"{rows / baseline:,.0f}", "1.00×"],
            ["downloads step of the bulk import", f"{steps['downloads']:.1f}", f"{rows:,}",
             f"{rows / steps['downloads']:,.0f}", ratio(steps["downloads"], baseline)],
            ["whole bulk import", f"{bulk.seconds:.1f}", f"{rows:,}", "", ratio(bulk.seconds, baseline)],
            ["final delta after a day of activity", f"{delta.seconds:.2f}",
             f"{delta.written.get('downloads', 0):,}", "", ratio(delta.seconds, baseline)],
            ["a run with nothing new", f"{again.seconds:.2f}", "0", "", ratio(again.seconds, baseline)],
        ],
    )  # fmt: skip
    bulk_steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
    delta_steps = ", ".join(
        f"{step} {seconds:.2f} s" for step, seconds in delta.step_seconds.items()
    )
    text += (
        f"\n\nThe source: {USERS:,} users, {ITEMS} items, {VERSIONS:,} versions, {REVIEWS:,} "
        f"reviews and {rows:,} downloads, generated inside Postgres in {generated:.0f} s; spread "
        f"evenly over versions and days, they make {days:,} per-day counts (a worst case: the "
        "live site's downloads gather on fewer versions a day). "
        f"Bulk import by step: {bulk_steps}. The day of activity: 20 new users, 5 items edited, "
        f"3 new versions, 10 reviews and {sizes.import_day_downloads:,} downloads; the delta "
        f"by step: {delta_steps}. Targets: the bulk import in minutes; the delta under 60 s. "
        f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    return text, bulk, delta
