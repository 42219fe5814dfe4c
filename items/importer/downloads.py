"""The download rows (about 12 million on the live site): streamed from the source's COPY into
the target's COPY block by block, so memory stays at one block whatever the count. Each batch of
ids commits together with the watermark, so a run killed midway continues after the last batch
that committed, and a later run brings only rows with ids past it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from items.importer.checks import EARLIEST
from items.importer.models import ImportMark
from items.importer.tables import raw_cursor, without_indexes_and_keys
from items.models import Download

MARK = "downloads"
# Ids per transaction: big enough that COPY runs at full speed, small enough that a killed run
# loses little.
BATCH_IDS = 500_000

COLUMNS = "id, version_id, user_id, created_at"


def last_imported_id() -> int:
    mark = ImportMark.objects.filter(name=MARK).first()
    return mark.last_id if mark else 0


def pending(source, after: int) -> tuple[int, int]:
    """(rows to bring, highest id) in the source past ``after``."""
    with source.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM items_download WHERE id > %s", [after]
        )
        return cursor.fetchone()


# Past this many rows the table's foreign keys and secondary indexes are dropped while rows
# arrive and made again after: checking two keys and keeping three indexes row by row costs
# several times the copy itself, while adding a key back is one pass and an index one sort.
UNCHECKED_FROM_ROWS = 100_000
KEYED_FIELDS = ("version", "user")
INDEXED_FIELDS = ("version", "user", "created_at")


@dataclass
class Copied:
    rows: int = 0
    left_out: int = 0  # rows of versions S7 does not hold (deleted on S7, or left out)
    dates_fixed: int = 0  # rows dated before EARLIEST or after the run's start


def _id_array(ids) -> sql.Composable:
    return sql.SQL("{}::bigint[]").format(sql.Literal("{" + ",".join(map(str, ids)) + "}"))


def copy_downloads(
    source,
    *,
    progress=None,
    batch_ids: int | None = None,
    after_batch=None,
    leave_out_versions=(),
    anonymous_users=(),
    latest: datetime | None = None,
) -> Copied:
    """Bring every download row past the watermark. Rows of ``leave_out_versions`` stay out;
    rows of ``anonymous_users`` come without their user (S7 keeps a deleted member's downloads
    so); a date outside EARLIEST…``latest`` becomes the nearest of the two."""
    batch_ids = batch_ids or BATCH_IDS
    latest = latest or timezone.now()
    start = last_imported_id()
    count, highest = pending(source, start)
    result = Copied()
    with source.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE created_at < %s OR created_at > %s),"
            " count(*) FILTER (WHERE version_id = ANY(%s)) FROM items_download WHERE id > %s",
            [EARLIEST, latest, list(leave_out_versions), start],
        )
        result.dates_fixed, result.left_out = cursor.fetchone()
    if count >= UNCHECKED_FROM_ROWS:
        drop_keys_and_indexes()
    columns = sql.SQL(
        "id, version_id, CASE WHEN user_id = ANY({users}) THEN NULL ELSE user_id END,"
        " LEAST(GREATEST(created_at, {earliest}), {latest})"
    ).format(
        users=_id_array(anonymous_users), earliest=sql.Literal(EARLIEST), latest=sql.Literal(latest)
    )
    while start < highest:
        end = min(start + batch_ids, highest)
        with transaction.atomic(), connection.cursor() as wrapper, source.cursor() as reader:
            target = raw_cursor(wrapper)
            rows = 0
            query = sql.SQL(
                "COPY (SELECT {columns} FROM items_download WHERE id > {start} AND id <= {end}"
                " AND NOT version_id = ANY({versions}) ORDER BY id) TO STDOUT"
            ).format(columns=columns, start=start, end=end, versions=_id_array(leave_out_versions))
            with (
                reader.copy(query) as rows_out,
                target.copy(f"COPY items_download ({COLUMNS}) FROM STDIN") as rows_in,
            ):
                for block in rows_out:
                    rows_in.write(block)
                    lines = bytes(block).count(b"\n")
                    rows += lines
                    if progress is not None:
                        progress.update(lines)
            ImportMark.objects.update_or_create(name=MARK, defaults={"last_id": end})
        result.rows += rows
        start = end
        if after_batch is not None:
            after_batch(result.rows)
    restore_keys_and_indexes()
    return result


def foreign_keys(model) -> dict[str, str]:
    """The foreign keys the model's table has now: column → constraint name."""
    return {
        info["columns"][0]: name
        for name, info in _constraints(model).items()
        if info["foreign_key"]
    }


def plain_indexes(model) -> dict[str, str]:
    """The single-column indexes that are neither its key nor a constraint: column → name."""
    return {
        info["columns"][0]: name
        for name, info in _constraints(model).items()
        if info["index"]
        and not (info["primary_key"] or info["unique"] or info["foreign_key"])
        and len(info["columns"]) == 1
    }


def _constraints(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def drop_keys_and_indexes() -> None:
    with transaction.atomic(), connection.schema_editor() as editor:
        for name in foreign_keys(Download).values():
            editor.execute(editor._delete_fk_sql(Download, name))
        for name in plain_indexes(Download).values():
            editor.execute(editor._delete_index_sql(Download, name))


def restore_keys_and_indexes() -> None:
    """Make again what a bulk copy dropped, as Django's migrations made it (the same names,
    so that later migrations find them); a run killed while they were dropped gets them back
    from the next run."""
    keys, indexes = foreign_keys(Download), plain_indexes(Download)
    with transaction.atomic(), connection.schema_editor() as editor:
        for name in INDEXED_FIELDS:
            field = Download._meta.get_field(name)
            if field.column not in indexes:
                editor.execute(editor._create_index_sql(Download, fields=[field]))
        for name in KEYED_FIELDS:
            field = Download._meta.get_field(name)
            if field.column not in keys:
                editor.execute(
                    editor._create_fk_sql(Download, field, "_fk_%(to_table)s_%(to_column)s")
                )


COUNTS_MARK = "version_counts"


def recount_versions() -> int:
    """Each version's count from its rows (the live counters double-count), for the versions
    with rows past the last recount (every version the first time), under a watermark of its
    own so that a run killed between copying and counting has the next count them; returns
    the versions whose count changed. S7's own rows (ids from S7_IDS_FROM) are always past it:
    a few, counted by S7 as they came."""
    counted = ImportMark.objects.filter(name=COUNTS_MARK).first()
    since_id = counted.last_id if counted else 0
    copied = last_imported_id()
    touched = (
        " WHERE v2.id IN (SELECT DISTINCT version_id FROM items_download WHERE id > %s)"
        if since_id
        else ""
    )
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        cursor.execute(
            "UPDATE items_version v SET downloads_count = c.n FROM ("
            " SELECT v2.id, count(d.id) AS n FROM items_version v2"
            f" LEFT JOIN items_download d ON d.version_id = v2.id{touched} GROUP BY v2.id) c"
            " WHERE c.id = v.id AND v.downloads_count <> c.n",
            [since_id] if since_id else [],
        )
        ImportMark.objects.update_or_create(name=COUNTS_MARK, defaults={"last_id": copied})
        return cursor.rowcount


DAYS_MARK = "download_days"


def rebuild_download_days() -> int:
    """Per-day counts (``DownloadDay``) recounted from the rows, for every day that has a row
    past the last rebuild (every day the first time): its own watermark, so that a run killed
    after copying rows but before counting them still gets their days counted by the next.
    Returns the days written."""
    counted = ImportMark.objects.filter(name=DAYS_MARK).first()
    since_id = counted.last_id if counted else 0
    copied = last_imported_id()
    if copied <= since_id:
        return 0
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        # Room to group millions of (version, day) pairs in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        day = "(d.created_at AT TIME ZONE 'UTC')::date"
        select = (
            "INSERT INTO items_downloadday (item_id, version_id, day, count)"
            f" SELECT v.item_id, d.version_id, {day}, count(*) FROM items_download d"
            " JOIN items_version v ON v.id = d.version_id"
        )
        if since_id:
            cursor.execute(f"SELECT min({day}) FROM items_download d WHERE d.id > %s", [since_id])
            # On created_at itself, so that its index finds the days' rows.
            cursor.execute(
                f"{select} WHERE d.created_at >= (%s::date)::timestamp AT TIME ZONE 'UTC'"
                f" GROUP BY v.item_id, d.version_id, {day}"
                " ON CONFLICT (version_id, day) DO UPDATE SET count = EXCLUDED.count"
                " WHERE items_downloadday.count <> EXCLUDED.count",
                [cursor.fetchone()[0]],
            )
            written = cursor.rowcount
        else:
            # Every day anew, in this one transaction (DDL included, so a kill undoes all of
            # it), with the indexes built and the keys checked once at the end.
            cursor.execute("TRUNCATE items_downloadday")
            with without_indexes_and_keys(cursor, "items_downloadday"):
                cursor.execute(
                    f"{select} GROUP BY v.item_id, d.version_id, {day} ORDER BY d.version_id, {day}"
                )
                written = cursor.rowcount
        ImportMark.objects.update_or_create(name=DAYS_MARK, defaults={"last_id": copied})
        return written
