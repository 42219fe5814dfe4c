"""What one run of the import knows as it goes (its options, its report, the rows it read for
later phases) and how it writes a live table where S7 did not change it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql
from tqdm import tqdm

from items.importer import ledger, source, tables
from items.importer.checks import Checks
from items.importer.report import Report
from items.models import Item, Review, Version

# Texts whose HTML is stored: a live text written again must be rendered again (the texts step
# renders every HTML field left empty).
RENDERED_MODELS = {model._meta.db_table: model for model in (Item, Version, Review)}

TARGET_TABLE = {
    "users": "items_user",
    "tags": "items_tag",
    "items": "items_item",
    "versions": "items_version",
    "reviews": "items_review",
    "screenshots": "items_screenshot",
    "downloads": "items_download",
}


@dataclass
class Options:
    source_url: str
    bucket: str = "simplici7y"
    prefix: str = "static/"
    only: tuple[str, ...] = source.LIVE_TABLES
    dry_run: bool = False
    wait: float = 600.0  # seconds to wait for the worker to verify the files left to it
    quiet: bool = False
    switch_over: bool = False  # this run is the final delta: S7 becomes the site of record
    after_switch_over: bool = False  # run although the switch-over is marked
    files_in_flight: int | None = None  # each holds a database connection (files.py)
    after_download_batch: object = None  # called with the rows copied so far (tests kill here)


class Run:
    """One run: its options, its report, what its phases read and wrote, and how a table
    is written."""

    def __init__(self, options: Options):
        self.options = options
        self.report = Report(dry_run=options.dry_run)
        self.started = time.monotonic()
        self.checks = Checks(timezone.now())
        self.live = None  # the live database's connection, while the run reads it
        self.live_highest: dict[str, int] = {}  # table → the live site's highest id
        self.adopted = {}
        self.would_hold: dict[str, set[int]] = {}  # a dry run's rows, as if written
        # What one phase read or decided for a later one.
        self.tag_merge = None
        self.s7_tags_merged: dict[int, list[int]] = {}
        self.live_downloads: dict[int, int] | None = None
        self.live_versions: list[dict] = []
        self.screenshot_rows: list[dict] = []

    def deleted_on_s7(self, table: str) -> set[int]:
        """Rows of ``table`` the import wrote that S7 no longer holds."""
        return set(ledger.remembered(table)) - self.present(TARGET_TABLE[table])

    def present(self, table: str) -> set[int]:
        """The ids S7 holds in ``table`` (or would, after a dry run's writes)."""
        return ledger.present_ids(table) | self.would_hold.get(table, set())

    def bar(self, table: str, total: int):
        return tqdm(
            total=total, desc=f"{table:<12}", unit=" rows", disable=self.options.quiet, leave=True
        )

    def write(self, table, columns, rows, *, update, label, unique=(), before_write=None):
        """Write the live ``rows`` (dicts) where the ledger says S7 did not change them since
        the last run; returns the decisions (what S7 holds after, for the tables after it)."""
        live = {row["id"]: row for row in rows}
        target = TARGET_TABLE.get(table, table)
        decisions = ledger.decide(
            live,
            current=ledger.current_rows(target, update, live),
            remembered=ledger.remembered(table),
            columns=update,
            label=label,
        )
        for column in unique:
            ledger.settle_unique(decisions, live, column, label)
        self.report.kept += decisions.kept
        self.report.conflicts += decisions.conflicts
        if decisions.deleted_on_s7:
            self.report.left_out.append(
                f"{table} deleted on S7 since they were imported, not brought back: "
                + ", ".join(map(str, sorted(decisions.deleted_on_s7)))
            )
        if decisions.not_ours:
            self.report.failures.append(
                f"{table} whose ids S7 holds rows of its own under (not written): "
                + ", ".join(map(str, sorted(decisions.not_ours)))
            )
        if self.options.dry_run:
            self.report.notes.append(f"{table}: {len(decisions.write):,} rows would be written.")
            self.would_hold[target] = set(decisions.final)
            return decisions
        with transaction.atomic():
            if before_write is not None:
                before_write(decisions)
            with self.bar(table, len(decisions.write)) as bar:
                self.report.written[table] = tables.upsert(
                    target,
                    columns,
                    [
                        tuple(values[c] for c in columns)
                        for _, values in sorted(decisions.write.items())
                    ],
                    update=update,
                    progress=bar,
                )
            self.forget_html(target, update, decisions.write)
            ledger.remember(table, decisions.ledger)
        return decisions

    def forget_html(self, target, update, written):
        model = RENDERED_MODELS.get(target)
        if model is None or not written:
            return
        stale = [html for html, (text, _) in model.RENDERED.items() if text in update]
        if stale:
            model.objects.filter(pk__in=list(written)).update(**dict.fromkeys(stale))

    def s7_holders(self, table, column, final, *, max_length):
        """S7 rows outside this run's live rows holding a live row's value of a unique column
        (a member who signed up on S7 under a name the live site then gave): renamed
        ``<value>-<id>``, the live row keeps its value."""
        values = {values[column] for values in final.values()}
        with connection.cursor() as wrapper:
            cursor = tables.raw_cursor(wrapper)
            cursor.execute(
                sql.SQL(
                    "SELECT id, {column} FROM {table} WHERE {column} = ANY(%s) AND NOT id = ANY(%s)"
                ).format(column=sql.Identifier(column), table=sql.Identifier(table)),
                [list(values), list(final)],
            )
            holders = cursor.fetchall()
            for row_id, value in holders:
                suffix = f"-{row_id}"
                renamed = f"{value[: max_length - len(suffix)]}{suffix}"
                cursor.execute(
                    sql.SQL("UPDATE {table} SET {column} = %s WHERE id = %s").format(
                        column=sql.Identifier(column), table=sql.Identifier(table)
                    ),
                    [renamed, row_id],
                )
                whose = "made on S7" if row_id >= ledger.S7_IDS_FROM else "gone from the live site"
                self.report.conflicts.append(
                    f"{table.removeprefix('items_')} {row_id}, {whose}: {column} “{value}” is"
                    f" the live site's; renamed “{renamed}”"
                )
