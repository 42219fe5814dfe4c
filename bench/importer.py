"""Benchmark 13: the whole switch-over at the live site's scale, each step timed.

A stand-in live database (``items.importer.live_schema``) is filled inside Postgres with
generate_series at the live site's size (3,000 people, 600 items, 1,400 versions and reviews,
BENCH_IMPORT_DOWNLOADS download rows), and a live bucket on the bench's SeaweedFS holds
BENCH_IMPORT_FILES small files (versions' archives and screenshots). Then the switch-over as the
README tells it: the bulk import, a rehearsal on S7 (logins, downloads, a sign-up, a review, an
upload, an admin's edit), a day on the live site (new rows, a few dozen new files), the final
delta marked as the switch-over (the community's downtime), a run refused after it, and a run
told explicitly that finds nothing to do. Every step is compared with a baseline measured in the
same run: the same download rows piped by COPY into a bare table (no index, no key, nothing
checked), the least any import of them costs on this machine. The database's size after the
import names the Heroku Postgres plan it needs.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.db import connection
from PIL import Image

from bench.common import ratio, table
from bench.services import PG
from items.importer.context import Options
from items.importer.guard import ImportRefused
from items.importer.live_schema import LIVE_SCHEMA
from items.importer.run import import_live_site
from items.models import DownloadDay

USERS, ITEMS, VERSIONS, REVIEWS, TAGS = 3_000, 600, 1_400, 1_400, 60
REHEARSAL_PASSWORD = "rehearsal-password-7"
# Heroku Postgres plans by storage (GB) and connections, smallest first.
FILES_IN_FLIGHT = 4
PLANS = [("essential-0", 1, 20), ("essential-1", 10, 20), ("essential-2", 32, 40)]
GB = 1024**3


def _zip(seed: int, size: int = 24_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"map-{seed}.sceA", os.urandom(size))
    return buffer.getvalue()


def _png(seed: int) -> bytes:
    noise = Image.effect_noise((50, 38), 60 + seed % 20).convert("RGB")
    buffer = io.BytesIO()
    noise.resize((200, 150), Image.Resampling.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


def _put_files(bucket: str, names: dict[str, bytes]) -> int:
    from uploads.storage.connection import s3_client

    client = s3_client()

    def put(item):
        client.put_object(Bucket=bucket, Key=f"static/{item[0]}", Body=item[1])
        return len(item[1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(put, names.items()))


def _file_plan(files: int, first_version: int, first_shot: int, versions: int):
    """Half and more of the files are versions' archives, the rest screenshots (the live
    site's proportion: 1,150 and 900)."""
    version_files = min(versions, files - files * 9 // 20)
    shots = files - version_files
    archives = [_zip(n) for n in range(4)]
    images = [_png(n) for n in range(4)]
    names = {}
    for n in range(version_files):
        names[f"versions/{first_version + n}/v{first_version + n}.zip"] = archives[n % 4]
    for n in range(shots):
        names[f"screenshots/{first_shot + n}/s{first_shot + n}.png"] = images[n % 4]
    return version_files, shots, names


def _fill(url: str, downloads: int, files: int, bucket: str) -> tuple[int, int]:
    version_files, shots, names = _file_plan(files, 1, 1, VERSIONS)
    stored = _put_files(bucket, names)
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    live_hash = PBKDF2PasswordHasher().encode(REHEARSAL_PASSWORD, "livesalt", iterations=100_000)
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
            " email, is_staff, is_active, date_joined) SELECT CASE WHEN n <= 5 THEN %s ELSE ''"
            " END, false, 'user' || n, 'User ' || n, '', 'user' || n || '@example.org', false,"
            " true, timestamptz '2007-01-01' + n * interval '1 hour'"
            f" FROM generate_series(1, {USERS}) n",
            [live_hash],
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
            "INSERT INTO items_version (item_id, name, body, file, link, created_at, updated_at)"
            f" SELECT n % {ITEMS} + 1, 'v' || n, 'Notes.',"
            f" CASE WHEN n <= {version_files} THEN 'versions/' || n || '/v' || n || '.zip' END,"
            f" CASE WHEN n > {version_files} THEN 'https://example.org/' || n || '.zip' END,"
            " timestamptz '2007-01-02' + n * interval '5 hours',"
            f" timestamptz '2007-01-02' + n * interval '5 hours' FROM generate_series(1, {VERSIONS}) n"
        )
        live.execute(
            'INSERT INTO items_screenshot (item_id, title, file, "order", created_at, updated_at)'
            f" SELECT n % {ITEMS} + 1, 'Shot ' || n, 'screenshots/' || n || '/s' || n || '.png',"
            f" n % 5, now(), now() FROM generate_series(1, {shots}) n"
        )
        live.execute(
            "INSERT INTO items_review (version_id, user_id, title, body, rating, created_at,"
            f" updated_at) SELECT n % {VERSIONS} + 1, n % {USERS} + 1, 'Review ' || n, 'Fine.',"
            f" n % 5 + 1, now(), now() FROM generate_series(1, {REVIEWS}) n"
        )
        _add_downloads(live, downloads, "2007-01-03", "2025-01-01")
    return len(names), stored


def _add_downloads(live, count: int, first: str, last: str) -> None:
    live.execute(
        "INSERT INTO items_download (user_id, version_id, created_at, updated_at)"
        f" SELECT CASE WHEN n % 3 = 0 THEN NULL ELSE n % {USERS} + 1 END, n % {VERSIONS} + 1,"
        f" timestamptz '{first}' + (timestamptz '{last}' - timestamptz '{first}') * (n::float8 / {count}),"
        f" now() FROM generate_series(1, {count}) n"
    )


def _rehearse(bucket: str, logins: int) -> str:
    """On S7, between the bulk import and the final delta, what an operator tries. Each login
    upgrades a live hash to S7's iterations (a second of CPU), so the smoke run logs in once."""
    from django.contrib.auth import authenticate
    from django.contrib.auth.models import update_last_login

    from items import services
    from items.models import Item, Version
    from items.models import User as Member
    from uploads.core.adopt import upload_adopt

    for n in range(1, logins + 1):
        member = authenticate(username=f"user{n}", password=REHEARSAL_PASSWORD)
        assert member is not None, "a live password must log in on S7"
        update_last_login(None, member)
    versions = list(Version.objects.order_by("pk")[:50])
    for n, version in enumerate(versions):
        services.download_record(version=version, user=Member.objects.get(pk=n % 5 + 1))
    newcomer = Member.objects.create_user("rehearsal-newcomer", password=REHEARSAL_PASSWORD)
    services.review_create(
        version=versions[4], user=Member.objects.get(pk=2500), title="On S7", body="", rating=5
    )
    item = services.item_save(item=Item(owner=newcomer, name="Rehearsal"), tag_names=["coop"])
    upload = upload_adopt(
        owner=newcomer,
        purpose="version_file",
        filename="rehearsal.zip",
        source_bucket=bucket,
        source_key="static/versions/1/v1.zip",
    )
    services.version_save(version=Version(item=item, name="1", file=upload))
    Item.objects.filter(pk=1).update(byline="Edited on S7")
    return (
        f"{logins} logins, 50 downloads, a sign-up, a review, an item with an uploaded file,"
        " an edit"
    )


def _a_day_of_activity(url: str, downloads: int, files: int, bucket: str) -> str:
    with psycopg.connect(url, autocommit=True) as live:
        first_version = live.execute("SELECT max(id) + 1 FROM items_version").fetchone()[0]
        first_shot = live.execute(
            "SELECT coalesce(max(id), 0) + 1 FROM items_screenshot"
        ).fetchone()[0]
        version_files, shots, names = _file_plan(files, first_version, first_shot, files)
        _put_files(bucket, names)
        live.execute(
            "INSERT INTO items_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined) SELECT '', false, 'new' || n, 'New', '',"
            " 'new@example.org', false, true, now() FROM generate_series(1, 20) n"
        )
        live.execute(
            "UPDATE items_item SET body = body || ' Edited.', updated_at = now() WHERE id <= 5"
        )
        live.execute(
            "INSERT INTO items_version (id, item_id, name, body, file, created_at, updated_at)"
            f" SELECT {first_version} + n, n % {ITEMS} + 1, 'new', '',"
            f" 'versions/' || ({first_version} + n) || '/v' || ({first_version} + n) || '.zip',"
            f" now(), now() FROM generate_series(0, {version_files - 1}) n"
        )
        live.execute(
            'INSERT INTO items_screenshot (id, item_id, title, file, "order", created_at,'
            f" updated_at) SELECT {first_shot} + n, n % {ITEMS} + 1, 'New', 'screenshots/' ||"
            f" ({first_shot} + n) || '/s' || ({first_shot} + n) || '.png', 1, now(), now()"
            f" FROM generate_series(0, {shots - 1}) n"
        )
        live.execute(
            "INSERT INTO items_review (version_id, user_id, title, body, rating, created_at,"
            " updated_at) SELECT n, n + 2000, 'New review', '', 4, now(), now()"
            " FROM generate_series(1, 10) n"
        )
        _add_downloads(live, downloads, "2025-01-01", "2025-01-02")
    return (
        f"20 new members, 5 items edited, {version_files} new versions and {shots} screenshots"
        f" with their files, 10 reviews, {downloads:,} downloads"
    )


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


def _site_size() -> tuple[int, int, int]:
    """(the whole database, the download rows with their indexes, the per-day counts), bytes."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT pg_database_size(current_database()),"
            " pg_total_relation_size('items_download'), pg_total_relation_size('items_downloadday')"
        )
        return cursor.fetchone()


def _plan_for(size: int) -> str:
    """The smallest plan whose storage holds the site with room to double (years of growth,
    and the space a VACUUM or an index rebuild needs beside the old copy)."""
    for name, storage_gb, _ in PLANS:
        if 2 * size <= storage_gb * GB:
            return name
    return PLANS[-1][0]


def _timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run(services, sizes, workdir):
    from uploads.storage.connection import s3_client

    name = f"s7_bench_{services.run_id}_live"
    url = f"{PG}/{name}"
    bucket = f"s7-bench-live-{services.run_id}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    s3_client().create_bucket(Bucket=bucket)
    try:
        generated, (files, stored) = _timed(
            lambda: _fill(url, sizes.import_downloads, sizes.import_files, bucket)
        )
        baseline = _baseline_copy(url)
        # The import lands on an empty site, as on the day it moves: the rows other benchmarks
        # made in this database (their users, items and downloads) would collide with its ids.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE items_user, items_tag, uploads_upload CASCADE")
            cursor.execute(
                "TRUNCATE simplici7y_import_importmark, simplici7y_import_importedrow,"
                " simplici7y_import_switchover"
            )
            for table_name in ("items_user", "items_item", "items_version", "items_download"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), 1, false)"
                )
        # As many files in flight as the README's one-off dyno gets beside the site
        # (DATABASE_POOL_MAX=6, within the plan's 20 connections).
        options = dict(
            source_url=url, bucket=bucket, wait=600, quiet=True, files_in_flight=FILES_IN_FLIGHT
        )
        bulk = import_live_site(Options(**options))
        size, download_size, days_size = _site_size()
        rehearsal_seconds, rehearsal = _timed(
            lambda: _rehearse(bucket, logins=5 if sizes.import_files >= 100 else 1)
        )
        day_seconds, day = _timed(
            lambda: _a_day_of_activity(
                url, sizes.import_day_downloads, sizes.import_day_files, bucket
            )
        )
        delta = import_live_site(Options(**options, switch_over=True))
        started = time.perf_counter()
        try:
            import_live_site(Options(**options))
            refusal = "not refused"
        except ImportRefused as refused:
            refusal = str(refused).split(":")[0]
        refused_seconds = time.perf_counter() - started
        again = import_live_site(Options(**options, after_switch_over=True))
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    rows = bulk.rows["downloads"][1]
    days = DownloadDay.objects.count()
    steps = bulk.step_seconds
    file_rate = files / bulk.file_seconds if bulk.file_seconds else 0
    text = table(
        ["step", "time (s)", "what", "ratio to baseline"],
        [
            ["bare COPY of the download rows (baseline)", f"{baseline:.1f}",
             f"{rows:,} rows, {rows / baseline:,.0f} rows/s", "1.00×"],
            ["bulk import: downloads step", f"{steps['downloads']:.1f}",
             f"{rows:,} rows, {rows / steps['downloads']:,.0f} rows/s",
             ratio(steps["downloads"], baseline)],
            ["bulk import: file phase (copy and verify)", f"{bulk.file_seconds:.1f}",
             f"{files:,} files, {stored / 2**20:.0f} MB, {FILES_IN_FLIGHT} in flight: "
            f"{file_rate:.0f} files/s"
             f" ({bulk.files_verified_here:,} verified by the import,"
             f" {1000 * bulk.file_cpu_seconds / max(files, 1):.0f} ms of its CPU a file)",
             ratio(bulk.file_seconds, baseline)],
            ["bulk import, whole", f"{bulk.seconds:.1f}", f"database {size / 2**20:,.0f} MB",
             ratio(bulk.seconds, baseline)],
            ["rehearsal on S7", f"{rehearsal_seconds:.1f}", rehearsal,
             ratio(rehearsal_seconds, baseline)],
            ["a day on the live site (generated)", f"{day_seconds:.1f}", day,
             ratio(day_seconds, baseline)],
            ["**final delta, the switch-over (downtime)**", f"**{delta.seconds:.1f}**",
             f"{sum(delta.written.values()):,} rows written, {delta.files_copied} files"
             f" ({delta.file_seconds:.1f} s)", ratio(delta.seconds, baseline)],
            ["a run after the switch-over", f"{refused_seconds:.2f}", f"refused: “{refusal}”",
             ratio(refused_seconds, baseline)],
            ["a run told --after-switch-over", f"{again.seconds:.1f}",
             f"{sum(again.written.values()):,} rows written, {again.files_copied} files",
             ratio(again.seconds, baseline)],
        ],
    )  # fmt: skip
    bulk_steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
    delta_steps = ", ".join(
        f"{step} {seconds:.2f} s" for step, seconds in delta.step_seconds.items()
    )
    plan = _plan_for(size)
    text += (
        f"\n\nThe source: {USERS:,} users, {ITEMS} items, {VERSIONS:,} versions, {REVIEWS:,} "
        f"reviews, {files:,} files ({stored / 2**20:.0f} MB) and {rows:,} downloads, generated "
        f"in {generated:.0f} s; spread evenly over versions and days, the downloads make "
        f"{days:,} per-day counts (a worst case: the live site's gather on fewer versions a "
        f"day). Bulk import by step: {bulk_steps}. The final delta by step: {delta_steps}. "
        f"Targets: the file phase at least 30 files/s; the final delta under 60 s.\n\n"
        f"Database after the bulk import: {size / 2**20:,.0f} MB in all, of which the download "
        f"rows {download_size / 2**20:,.0f} MB and the per-day counts {days_size / 2**20:,.0f} MB"
        f" (after VACUUM ANALYZE). Plan it needs (storage for twice that): "
        f"heroku-postgresql:{plan}. Load average (1 min) at the end: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores."
    )
    return text, bulk, delta
