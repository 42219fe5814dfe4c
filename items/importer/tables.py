"""Writing the small tables: every source row is staged with COPY and upserted by id, and a row
is written only where a value differs, so that a second run changes nothing."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction
from psycopg import sql


def raw_cursor(cursor):
    """The psycopg cursor under Django's wrapper (for COPY, which Django does not wrap)."""
    return cursor.cursor


def upsert(
    table: str, columns: list[str], rows, *, update: list[str], key: str = "id", progress=None
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``, or update the ``update``
    columns of the row with the same ``key`` where they differ; returns the rows written."""
    stage = f"import_stage_{table}"
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        cursor.execute(
            sql.SQL(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"
            ).format(stage=sql.Identifier(stage), names=names, table=sql.Identifier(table))
        )
        with cursor.copy(
            sql.SQL("COPY {stage} ({names}) FROM STDIN").format(
                stage=sql.Identifier(stage), names=names
            )
        ) as copy:
            for row in rows:
                copy.write_row(row)
                if progress is not None:
                    progress.update(1)
        target = sql.Identifier(table)
        assignments = sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(column)) for column in update
        )
        mine = sql.SQL(", ").join(
            sql.SQL("{t}.{c}").format(t=target, c=sql.Identifier(column)) for column in update
        )
        theirs = sql.SQL(", ").join(
            sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(column)) for column in update
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ORDER BY {key}"
                " ON CONFLICT ({key}) DO UPDATE SET {assignments}"
                " WHERE ({mine}) IS DISTINCT FROM ({theirs})"
            ).format(
                table=target,
                names=names,
                stage=sql.Identifier(stage),
                key=sql.Identifier(key),
                assignments=assignments,
                mine=mine,
                theirs=theirs,
            )
        )
        return cursor.rowcount


def delete_missing(table: str, column: str, keep_ids, *, among_ids=None) -> int:
    """Delete rows of ``table`` whose ``column`` is not in ``keep_ids`` (only among
    ``among_ids`` when given); returns the rows deleted."""
    query = sql.SQL("DELETE FROM {table} WHERE NOT ({column} = ANY(%s))").format(
        table=sql.Identifier(table), column=sql.Identifier(column)
    )
    params = [list(keep_ids)]
    if among_ids is not None:
        query += sql.SQL(" AND {column} = ANY(%s)").format(column=sql.Identifier(column))
        params.append(list(among_ids))
    with transaction.atomic(), connection.cursor() as cursor:
        raw_cursor(cursor).execute(query, params)
        return raw_cursor(cursor).rowcount


def sync_item_tags(pairs: set[tuple[int, int]], item_ids) -> int:
    """Make the imported items' tags exactly ``pairs`` (item id, tag id); returns rows written."""
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        cursor.execute(
            "CREATE TEMP TABLE import_stage_item_tags (item_id bigint, tag_id bigint) ON COMMIT DROP"
        )
        with cursor.copy("COPY import_stage_item_tags (item_id, tag_id) FROM STDIN") as copy:
            for pair in sorted(pairs):
                copy.write_row(pair)
        cursor.execute(
            "DELETE FROM items_item_tags t WHERE t.item_id = ANY(%s) AND NOT EXISTS ("
            " SELECT 1 FROM import_stage_item_tags s"
            " WHERE s.item_id = t.item_id AND s.tag_id = t.tag_id)",
            [list(item_ids)],
        )
        deleted = cursor.rowcount
        cursor.execute(
            "INSERT INTO items_item_tags (item_id, tag_id) SELECT item_id, tag_id"
            " FROM import_stage_item_tags ORDER BY item_id, tag_id"
            " ON CONFLICT (item_id, tag_id) DO NOTHING"
        )
        return deleted + cursor.rowcount


def target_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return cursor.fetchone()[0]


def move_sequences_past_ids(tables) -> None:
    """New rows made on S7 after the import take ids after every imported one."""
    with connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        for table in tables:
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                    " GREATEST((SELECT max(id) FROM {table}), 1))"
                ).format(table=sql.Identifier(table)),
                [table],
            )


@contextmanager
def without_indexes_and_keys(cursor, table: str):
    """Drop the table's secondary indexes, unique constraints and foreign keys, and create them
    again on leaving, from their own definitions: filling a table from a query is many times
    faster without them, and each is then built or checked in one pass. Inside the caller's
    transaction (DDL is transactional in Postgres), so a kill midway leaves them as they were."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
        [table],
    )
    constraints = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'p')",
        [table, table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in reversed(constraints):
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.Identifier(table), sql.Identifier(name)
            )
            + sql.SQL(definition)
        )
