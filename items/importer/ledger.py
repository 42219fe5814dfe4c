"""Which side changed a row since the last run: the ledger of what the live site held, and the
rules that make a run safe to repeat while S7 is already in use (the rehearsal).

- **Ids**: S7's own rows take ids from ``S7_IDS_FROM`` up, a range the live site's sequences
  never reach, so a row made on S7 never takes an id the live site may still hand out, and every
  live row keeps its live id.
- **Columns**: the ledger holds a digest of each column's live value as last imported. A column
  S7 changed since (its value no longer matches the digest) and the live site did not is kept;
  one the live site changed is brought in, over S7's value where both changed (a conflict,
  reported). A row the ledger knows and S7 no longer holds was deleted on S7 and stays deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from psycopg import sql

from items.importer.models import ImportedRow, ImportMark
from items.importer.tables import raw_cursor

# Far past the live site's largest ids (about 12 million download rows after 18 years), and
# inside a 32-bit integer, so that ids stay short in URLs and fit any column.
S7_IDS_FROM = 1_000_000_000


def digest(value) -> str:
    """A short, stable digest of a column's value, the same whichever database it came from."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    elif isinstance(value, uuid.UUID):
        value = str(value)
    elif isinstance(value, (set, frozenset, list, tuple)):
        value = tuple(sorted(value))
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


@dataclass
class Decisions:
    """What a run does with the live rows of one table."""

    write: dict[int, dict] = field(default_factory=dict)  # id → the values to write
    final: dict[int, dict] = field(default_factory=dict)  # id → values S7 holds after the run
    ledger: dict[int, dict] = field(default_factory=dict)  # id → digests to remember
    kept: list[str] = field(default_factory=list)  # S7's changes kept
    conflicts: list[str] = field(default_factory=list)  # changed on both sides: live taken
    deleted_on_s7: list[int] = field(default_factory=list)
    not_ours: list[int] = field(default_factory=list)  # an S7 row the import never wrote


def decide(
    live: dict[int, dict],
    *,
    current: dict[int, dict],
    remembered: dict[int, dict],
    columns: list[str],
    label,
) -> Decisions:
    """Three-way: ``live`` (the rows as S7 would write them), ``current`` (what S7 holds for
    the same ids) and ``remembered`` (the ledger's digests). ``label(id, values)`` names a row
    in the report; values of columns are never printed (they may be password hashes)."""
    decisions = Decisions()
    for row_id, values in live.items():
        digests = {column: digest(values[column]) for column in columns}
        mine = current.get(row_id)
        base = remembered.get(row_id)
        if mine is None:
            if base is not None:
                decisions.deleted_on_s7.append(row_id)
                continue
            decisions.write[row_id] = values
            decisions.final[row_id] = values
            decisions.ledger[row_id] = digests
            continue
        if base is None:
            decisions.not_ours.append(row_id)
            decisions.final[row_id] = mine
            continue
        merged, kept, both = dict(values), [], []
        for column in columns:
            s7_changed = digest(mine[column]) != base.get(column)
            live_changed = digests[column] != base.get(column)
            if s7_changed and not live_changed:
                merged[column] = mine[column]
                kept.append(column)
            elif s7_changed and live_changed and digest(mine[column]) != digests[column]:
                both.append(column)
        if kept:
            decisions.kept.append(f"{label(row_id, mine)}: {', '.join(kept)}")
        if both:
            decisions.conflicts.append(
                f"{label(row_id, mine)}: {', '.join(both)} changed on S7 and on the live site;"
                " the live site's taken"
            )
        if any(digest(merged[column]) != digest(mine[column]) for column in columns):
            decisions.write[row_id] = merged
        decisions.final[row_id] = {**mine, **merged}
        if digests != base:
            decisions.ledger[row_id] = digests
    return decisions


def settle_unique(decisions: Decisions, live: dict[int, dict], column: str, label) -> None:
    """Two live rows may end with one value of a unique column only where S7 gave one of them
    another live row's value (an admin's rename): the live site's value is taken for it."""
    holders: dict[object, list[int]] = {}
    for row_id, values in decisions.final.items():
        holders.setdefault(values[column], []).append(row_id)
    for value, row_ids in holders.items():
        if len(row_ids) < 2:
            continue
        for row_id in row_ids:
            if row_id in live and live[row_id][column] != value:
                decisions.final[row_id][column] = live[row_id][column]
                decisions.write.setdefault(row_id, dict(decisions.final[row_id]))[column] = live[
                    row_id
                ][column]
                decisions.conflicts.append(
                    f"{label(row_id, decisions.final[row_id])}: {column} given on S7 is the live"
                    f" site's for another row; the live site's {column} taken"
                )


def current_rows(table: str, columns: list[str], ids) -> dict[int, dict]:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    with connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        cursor.execute(
            sql.SQL("SELECT id, {names} FROM {table} WHERE id = ANY(%s)").format(
                names=names, table=sql.Identifier(table)
            ),
            [list(ids)],
        )
        return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in cursor.fetchall()}


def remembered(table: str) -> dict[int, dict]:
    return dict(ImportedRow.objects.filter(table=table).values_list("row_id", "digests"))


def remember(table: str, digests: dict[int, dict]) -> None:
    """Write the ledger's rows for ``table`` (inside the caller's transaction)."""
    if not digests:
        return
    ImportedRow.objects.bulk_create(
        [ImportedRow(table=table, row_id=row_id, digests=d) for row_id, d in digests.items()],
        update_conflicts=True,
        unique_fields=["table", "row_id"],
        update_fields=["digests"],
        batch_size=2000,
    )


def present_ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(table)).as_string())
        return {row[0] for row in cursor.fetchall()}


# --- Ids -----------------------------------------------------------------------------------------


def never_imported() -> bool:
    return not (ImportedRow.objects.exists() or ImportMark.objects.exists())


def rows_in_live_range(tables) -> dict[str, int]:
    """Rows S7 holds with ids the live site can hand out: before a first import, any."""
    found = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE id < %s")
                .format(sql.Identifier(table))
                .as_string(),
                [S7_IDS_FROM],
            )
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found


def reserve_ids_for_s7(tables) -> None:
    """S7's sequences hand out ids from ``S7_IDS_FROM`` up (or past S7's largest id there)."""
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = raw_cursor(wrapper)
        for table in tables:
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s,"
                    " (SELECT max(id) + 1 FROM {table} WHERE id >= %s)), false)"
                ).format(table=sql.Identifier(table)),
                [table, S7_IDS_FROM, S7_IDS_FROM],
            )
