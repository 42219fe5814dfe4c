"""The whole import in order, each step committed on its own so that a run killed anywhere
continues where it stopped, and its report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import sql
from tqdm import tqdm

from items import services
from items.importer import downloads, files, ledger, source, tables
from items.importer.checks import Checks
from items.importer.files import SourceFile
from items.importer.models import ImportedFile, ImportedRow, SwitchOver
from items.models import Item, Review, Screenshot, Tag, User, Version
from uploads.core.models import UploadState

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
MODEL = {
    "users": User,
    "tags": Tag,
    "items": Item,
    "versions": Version,
    "reviews": Review,
    "screenshots": Screenshot,
}


class ImportRefused(Exception):
    """A run that must not start; the message says why and what to do."""


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


@dataclass
class Report:
    dry_run: bool = False
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table → (source, target)
    written: dict[str, int] = field(default_factory=dict)  # table → rows inserted or changed
    files_copied: int = 0
    bytes_copied: int = 0
    files_verified_here: int = 0
    files_pending: int = 0
    file_seconds: float = 0.0  # copying and verifying, waiting for the worker included
    file_cpu_seconds: float = 0.0  # this process's CPU meanwhile (every thread)
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    count_changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def text(self) -> str:
        heading = "Dry run: what an import would do" if self.dry_run else "Import finished"
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.step_seconds.items())
        lines = [
            f"{heading} in {self.seconds:.1f} s ({steps}).",
            "",
            f"{'table':<12} {'source':>11} {'target':>11} {'written':>11}",
        ]
        for table, (in_source, in_target) in self.rows.items():
            written = self.written.get(table, 0)
            lines.append(f"{table:<12} {in_source:>11,} {in_target:>11,} {written:>11,}")
        lines += [
            "",
            f"Files copied: {self.files_copied:,} ({self.bytes_copied:,} bytes); "
            f"verified by this run: {self.files_verified_here:,}; "
            f"still being verified by the worker: {self.files_pending:,}; "
            f"failures: {len(self.failures):,}.",
        ]
        for title, entries in (
            ("Failures", self.failures),
            ("Checked, not trusted (fixed or left out)", self.checked),
            ("Merged", self.merges),
            ("Changed on S7 since the last run, kept", self.kept),
            ("Changed on both sides, the live site's taken", self.conflicts),
            ("Left out", self.left_out),
            ("Download counts recomputed from the rows (live → S7)", self.count_changes),
            ("Notes", self.notes),
        ):
            if entries:
                lines += ["", f"{title}:", *(f"  - {entry}" for entry in entries)]
        return "\n".join(lines)


def switched_over() -> SwitchOver | None:
    return SwitchOver.objects.order_by("-marked_at").first()


class Importer:
    def __init__(self, options: Options):
        self.options = options
        self.report = Report(dry_run=options.dry_run)
        self.started = time.monotonic()
        self.checks = Checks(timezone.now())
        self.adopted = {}
        self.would_hold: dict[str, set[int]] = {}  # a dry run's rows, as if written

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

    def refuse_if_unsafe(self) -> None:
        self.live_highest = {}
        marked = switched_over()
        if marked and not self.options.after_switch_over:
            if self.options.dry_run:
                self.report.notes.append(f"S7 {marked}: a run would be refused.")
                return
            raise ImportRefused(
                f"S7 {marked} (a run marked --switch-over): S7 is the site of record, and what "
                "its members changed since would meet the live site's rows again. If the live "
                "site was reopened and its rows must come again, run with --after-switch-over: "
                "S7's changes are kept wherever the live site did not change the same column."
            )
        small = [TARGET_TABLE[t] for t in TARGET_TABLE]
        if ledger.never_imported():
            occupied = ledger.rows_in_live_range(small)
            if occupied:
                held = ", ".join(f"{table} {count:,}" for table, count in occupied.items())
                message = (
                    f"S7 already holds rows the import did not write ({held}): live rows would "
                    "take their ids. Import into an S7 database that nobody has used yet."
                )
                if not self.options.dry_run:
                    raise ImportRefused(message)
                self.report.notes.append(message)
        self.live_highest = {}
        for table, name in TARGET_TABLE.items():
            highest = source.fetch(self.live, f"SELECT coalesce(max(id), 0) FROM {name}")[0][0]
            self.live_highest[table] = highest
            if highest >= ledger.S7_IDS_FROM:
                raise ImportRefused(
                    f"The live site's {table} reached id {highest:,}, inside the range S7 keeps "
                    f"for its own rows (from {ledger.S7_IDS_FROM:,}); raise S7_IDS_FROM first."
                )

    def run(self) -> Report:
        with source.connect(self.options.source_url) as live:
            self.live = live
            self.refuse_if_unsafe()
            if not self.options.dry_run:
                ledger.reserve_ids_for_s7(TARGET_TABLE.values())
            steps = [
                ("users", self.users),
                ("tags", self.tags),
                ("items", self.items),
                ("versions", self.versions),
                ("reviews", self.reviews),
                ("screenshots", self.screenshots),
                ("downloads", self.downloads),
            ]
            if not self.options.dry_run:
                steps += [
                    ("texts", services.render_missing_html),
                    ("files", self.finish_files),
                    ("counts", self.recount),
                    ("sequences", lambda: ledger.reserve_ids_for_s7(TARGET_TABLE.values())),
                ]
            for name, step in steps:
                if name in self.options.only or name not in TARGET_TABLE:
                    began = time.monotonic()
                    step()
                    self.report.step_seconds[name] = time.monotonic() - began
            for table in TARGET_TABLE:
                self.report.rows[table] = (
                    source.count(live, table),
                    tables.target_count(TARGET_TABLE[table]),
                )
            self.report.checked = self.checks.lines
            if self.options.switch_over and not self.options.dry_run:
                SwitchOver.objects.create(live_downloads_up_to=self.live_highest["downloads"])
                self.report.notes.append(
                    f"S7 {switched_over()}: later runs are refused unless --after-switch-over."
                )
        self.report.seconds = time.monotonic() - self.started
        return self.report

    # --- Tables ------------------------------------------------------------------------------

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

    def users(self):
        rows = []
        for row in source.fetch_dicts(self.live, source.USERS):
            what = f"user {row['id']}"
            row["username"] = self.checks.username(row["username"], row["id"])
            row["date_joined"] = self.checks.date(row["date_joined"], what)
            row["last_login"] = self.checks.date(row["last_login"], what)
            self.checks.staff_flags(row)
            self.checks.lengths(User, row, what)
            rows.append({**row, "items_count": 0, "reviews_count": 0})
        columns = [
            "id", "username", "first_name", "last_name", "email", "password", "is_staff",
            "is_superuser", "is_active", "date_joined", "last_login",
        ]  # fmt: skip
        self.write(
            "users",
            [*columns, "items_count", "reviews_count"],
            rows,
            update=columns[1:],
            label=lambda row_id, values: f"user {row_id} “{values['username']}”",
            unique=["username"],
            before_write=lambda d: self.s7_holders(
                "items_user", "username", d.final, max_length=150
            ),
        )

    def tags(self):
        merge = source.merge_tags(
            source.fetch(self.live, "SELECT id, name, permalink FROM items_tag")
        )
        self.tag_merge = merge
        self.report.merges += merge.merged
        rows = [
            {"id": tag_id, "name": name, "permalink": slug, "items_count": 0}
            for tag_id, (name, slug) in sorted(merge.kept.items())
        ]
        self.s7_tags_merged: dict[int, list[int]] = {}
        self.write(
            "tags",
            ["id", "name", "permalink", "items_count"],
            rows,
            update=["name", "permalink"],
            label=lambda row_id, values: f"tag {row_id} “{values['name']}”",
            unique=["name", "permalink"],
            before_write=self.merge_s7_tags,
        )
        if not self.options.dry_run:
            merged_away = set(merge.kept_id) - set(merge.kept)
            Tag.objects.filter(pk__in=merged_away).delete()

    def merge_s7_tags(self, decisions):
        """A tag made on S7 under a name (or permalink) the live site then gave a tag of its
        own becomes that tag: its items take the live tag."""
        final = decisions.final
        by_name = {values["name"]: row_id for row_id, values in final.items()}
        by_slug = {values["permalink"]: row_id for row_id, values in final.items()}
        holders = Tag.objects.exclude(pk__in=list(final)).filter(
            Q(name__in=list(by_name)) | Q(permalink__in=list(by_slug))
        )
        for tag in holders:
            live_id = by_name.get(tag.name) or by_slug[tag.permalink]
            self.s7_tags_merged[live_id] = list(tag.items.values_list("pk", flat=True))
            self.report.merges.append(
                f"tag {tag.pk} “{tag.name}”, made on S7, into the live site's tag {live_id}"
            )
            tag.delete()

    def items(self):
        live_items = source.fetch_dicts(self.live, source.ITEMS)
        self.live_downloads = {row["id"]: row.pop("downloads_count") for row in live_items}
        self.checks.permalinks(live_items)
        present_users = self.present("items_user")
        present_items = self.present("items_item") | {row["id"] for row in live_items}
        rows, orphans = [], []
        for row in live_items:
            what = f"item {row['id']}"
            if row["owner_id"] not in present_users:
                orphans.append(row["id"])
                continue
            if row["tc_id"] not in present_items:
                row["tc_id"] = None
            row["created_at"] = self.checks.date(row["created_at"], what)
            row["updated_at"] = self.checks.date(row["updated_at"], what)
            self.checks.lengths(Item, row, what)
            rows.append(
                {**row, "downloads_count": 0, "reviews_count": 0, "screenshots_count": 0,
                 "rating_average": 0.0, "rating_weighted": 0.0, "version_created_at": None}
            )  # fmt: skip
        if orphans:
            self.report.left_out.append(
                f"items whose owner was deleted on S7: {', '.join(map(str, orphans))}"
            )
        columns = [
            "id", "name", "byline", "topnote", "body", "tc_id", "owner_id", "permalink",
            "created_at", "updated_at",
        ]  # fmt: skip
        counts = [
            "downloads_count", "reviews_count", "screenshots_count", "rating_average",
            "rating_weighted", "version_created_at",
        ]  # fmt: skip
        label = lambda row_id, values: f"item {row_id} “{values['name']}”"  # noqa: E731
        decisions = self.write(
            "items",
            columns + counts,
            rows,
            update=columns[1:],
            label=label,
            unique=["permalink"],
            before_write=lambda d: self.s7_holders(
                "items_item", "permalink", d.final, max_length=255
            ),
        )
        self.item_tags([row for row in rows if row["id"] in decisions.final], label)

    def item_tags(self, rows, label):
        """An item's tags are one more column of it: S7's edit of them is kept likewise."""
        merge = getattr(self, "tag_merge", None) or source.merge_tags(
            source.fetch(self.live, "SELECT id, name, permalink FROM items_tag")
        )
        wanted = {row["id"]: set() for row in rows}
        for item_id, tag_id in source.fetch(self.live, source.ITEM_TAGS):
            if item_id in wanted and tag_id in merge.kept_id:
                wanted[item_id].add(merge.kept_id[tag_id])
        remembered = ledger.remembered("item_tags")
        current = {
            item_id: {"tags": set()}
            for item_id in self.present("items_item")
            if item_id in remembered
        }
        for item_id, tag_id in Item.tags.through.objects.values_list("item_id", "tag_id"):
            if item_id in current:
                current[item_id]["tags"].add(tag_id)
        decisions = ledger.decide(
            {item_id: {"id": item_id, "tags": tags} for item_id, tags in wanted.items()},
            current=current,
            remembered=remembered,
            columns=["tags"],
            label=lambda row_id, _: f"item {row_id}",
        )
        self.report.kept += decisions.kept
        self.report.conflicts += decisions.conflicts
        if self.options.dry_run:
            return
        present_tags = self.present("items_tag")
        changed = {
            item_id: {(item_id, tag_id) for tag_id in values["tags"] if tag_id in present_tags}
            for item_id, values in decisions.final.items()
            if values["tags"] != current.get(item_id, {"tags": set()})["tags"]
        }
        merged_in = [
            Item.tags.through(item_id=item_id, tag_id=live_tag)
            for live_tag, item_ids in getattr(self, "s7_tags_merged", {}).items()
            for item_id in item_ids
        ]
        with transaction.atomic():
            tables.sync_item_tags(set().union(*changed.values()), list(changed))
            # The items of an S7 tag merged into a live one, whichever side made them.
            Item.tags.through.objects.bulk_create(merged_in, ignore_conflicts=True)
            ledger.remember("item_tags", decisions.ledger)

    def versions(self):
        live_versions = source.fetch_dicts(self.live, source.VERSIONS)
        present_items = self.present("items_item")
        kept, orphans = [], []
        for row in live_versions:
            if row["item_id"] not in present_items:
                orphans.append(row)
                continue
            what = f"version {row['id']}"
            row["link"] = self.checks.link(row["link"], row["id"])
            row["created_at"] = self.checks.date(row["created_at"], what)
            self.checks.lengths(Version, row, what)
            kept.append(row)
        if orphans:
            self.report.left_out.append(
                "versions whose item is not on S7: " + ", ".join(str(r["id"]) for r in orphans)
            )
        # A version deleted on S7 stays deleted: its file is not copied again.
        gone = self.deleted_on_s7("versions")
        wanted = [
            SourceFile(ImportedFile.VERSION, row["id"], row["file"], row["owner_id"])
            for row in kept
            if row["file"] and row["id"] not in gone
        ]
        adopted = self.adopt(wanted, purpose="version_file", table="versions")
        self.write_versions(kept, adopted)

    def write_versions(self, live_versions, adopted):
        rows, unservable = [], []
        gone = self.deleted_on_s7("versions")
        for row in live_versions:
            link = row["link"]
            upload = adopted.get((ImportedFile.VERSION, row["id"])) if row["file"] else None
            if upload is not None and not (upload.state == UploadState.FAILED and link):
                # The file wins where the live site had both: its download view served the file.
                file_id, link = upload.pk, ""
            else:
                file_id = None
            if file_id is None and not link and row["id"] not in gone:
                unservable.append(row["id"])
                continue
            rows.append({
                "id": row["id"], "item_id": row["item_id"], "name": row["name"],
                "notes": row["notes"], "file_id": file_id, "link": link,
                "downloads_count": 0, "created_at": row["created_at"],
            })  # fmt: skip
        if unservable:
            self.report.left_out.append(
                "versions with neither a file nor a link S7 can serve: "
                + ", ".join(map(str, unservable))
            )
        self.live_versions = live_versions
        return self.write(
            "versions",
            ["id", "item_id", "name", "notes", "file_id", "link", "downloads_count", "created_at"],
            rows,
            update=["item_id", "name", "notes", "file_id", "link", "created_at"],
            label=lambda row_id, values: f"version {row_id} “{values['name']}”",
        )

    def reviews(self):
        rows = source.fetch(self.live, source.REVIEWS)
        merge = source.merge_reviews(rows)
        self.report.merges += merge.merged
        if not self.options.dry_run and merge.dropped_ids:
            tables.delete_missing("items_review", "id", [], among_ids=merge.dropped_ids)
            ImportedRow.objects.filter(table="reviews", row_id__in=merge.dropped_ids).delete()
        present_versions = self.present("items_version")
        present_users = self.present("items_user")
        columns = ["id", "version_id", "user_id", "title", "body", "rating", "created_at"]
        kept, orphans = [], []
        for row in merge.kept:
            values = dict(zip(columns, row, strict=True))
            if (
                values["version_id"] not in present_versions
                or values["user_id"] not in present_users
            ):
                orphans.append(values["id"])
                continue
            values["created_at"] = self.checks.date(values["created_at"], f"review {values['id']}")
            self.checks.lengths(Review, values, f"review {values['id']}")
            kept.append(values)
        if orphans:
            self.report.left_out.append(
                "reviews whose version or reviewer is not on S7: " + ", ".join(map(str, orphans))
            )
        self.write(
            "reviews",
            columns,
            kept,
            update=columns[1:],
            label=lambda row_id, values: f"review {row_id} “{values['title']}”",
            before_write=self.one_review_per_pair,
        )

    def one_review_per_pair(self, decisions):
        """A review written on S7 and one the live site took of the same version by the same
        member: the newest stays, as among the live site's own."""
        pairs = {(v["version_id"], v["user_id"]): row_id for row_id, v in decisions.write.items()}
        if not pairs:
            return
        holders = Review.objects.exclude(pk__in=list(decisions.final)).filter(
            version_id__in={p[0] for p in pairs}, user_id__in={p[1] for p in pairs}
        )
        for review in holders:
            live_id = pairs.get((review.version_id, review.user_id))
            if live_id is None:
                continue
            live = decisions.write[live_id]
            if review.created_at > live["created_at"]:
                del decisions.write[live_id]
                decisions.ledger.pop(live_id, None)
                self.report.merges.append(
                    f"review {live_id} of the live site and review {review.pk} made on S7, of "
                    f"version {review.version_id} by user {review.user_id}: {review.pk} (the "
                    "newest) kept"
                )
            else:
                self.report.merges.append(
                    f"review {review.pk} made on S7 and review {live_id} of the live site, of "
                    f"version {review.version_id} by user {review.user_id}: {live_id} (the "
                    "newest) kept"
                )
                review.delete()

    def screenshots(self):
        live_shots = source.fetch_dicts(self.live, source.SCREENSHOTS)
        present_items = self.present("items_item")
        self.screenshot_rows = [row for row in live_shots if row["item_id"] in present_items]
        orphans = [row["id"] for row in live_shots if row["item_id"] not in present_items]
        if orphans:
            self.report.left_out.append(
                "screenshots whose item is not on S7: " + ", ".join(map(str, orphans))
            )
        gone = self.deleted_on_s7("screenshots") & {row["id"] for row in self.screenshot_rows}
        if gone:
            self.report.left_out.append(
                "screenshots deleted on S7 since they were imported, not brought back: "
                + ", ".join(map(str, sorted(gone)))
            )
        wanted = [
            SourceFile(ImportedFile.SCREENSHOT, row["id"], row["file"], row["owner_id"])
            for row in self.screenshot_rows
            if row["file"] and row["id"] not in gone
        ]
        self.adopt(wanted, purpose="screenshot", table="screenshots")
        # Rows are written once their images are ready (finish_files): a screenshot without
        # its image would be half-imported.

    def downloads(self):
        after = downloads.last_imported_id()
        rows, _ = downloads.pending(self.live, after)
        if self.options.dry_run:
            self.report.notes.append(f"{rows:,} download rows past id {after:,} would be copied.")
            return
        live_versions = {row[0] for row in source.fetch(self.live, "SELECT id FROM items_version")}
        live_users = {row[0] for row in source.fetch(self.live, "SELECT id FROM items_user")}
        missing_versions = sorted(live_versions - self.present("items_version"))
        missing_users = sorted(live_users - self.present("items_user"))
        with self.bar("downloads", rows) as bar:
            copied = downloads.copy_downloads(
                self.live,
                progress=bar,
                after_batch=self.options.after_download_batch,
                leave_out_versions=missing_versions,
                anonymous_users=missing_users,
                latest=self.checks.now,
            )
        self.report.written["downloads"] = copied.rows
        if copied.left_out:
            self.report.left_out.append(
                f"{copied.left_out:,} download rows of versions not on S7"
                f" ({', '.join(map(str, missing_versions[:20]))})"
            )
        if copied.dates_fixed:
            self.checks.note(
                f"{copied.dates_fixed:,} download rows dated before {downloads.EARLIEST:%Y-%m-%d}"
                " or after the run's start; the nearest of the two kept"
            )

    # --- Files -------------------------------------------------------------------------------

    def adopt(self, wanted: list[SourceFile], *, purpose: str, table: str):
        if self.options.dry_run:
            known = files.known_uploads(wanted)
            self.report.notes.append(
                f"{table}: {len(wanted) - len(known):,} files would be copied "
                f"({len(known):,} already imported)."
            )
            return {}
        began, cpu = time.monotonic(), time.process_time()
        with tqdm(
            total=len(wanted), desc=f"{table} files", unit=" files", disable=self.options.quiet
        ) as bar:
            adopted = files.adopt(
                wanted, purpose=purpose, bucket=self.options.bucket, prefix=self.options.prefix,
                progress=bar, in_flight=self.options.files_in_flight,
            )  # fmt: skip
        self.report.files_copied += adopted.copied
        self.report.bytes_copied += adopted.bytes_copied
        self.report.files_verified_here += adopted.verified
        self.report.file_seconds += time.monotonic() - began
        self.report.file_cpu_seconds += time.process_time() - cpu
        self.adopted = {**self.adopted, **adopted.uploads}
        return adopted.uploads

    def finish_files(self):
        adopted = self.adopted
        still_open = [u.pk for u in adopted.values() if not u.is_final]
        began = time.monotonic()
        if still_open and self.options.wait > 0:
            with tqdm(
                total=len(still_open), desc="verifying", unit=" files", disable=self.options.quiet
            ) as bar:
                files.wait_for_worker(still_open, timeout=self.options.wait, progress=bar)
        uploads = {
            key: upload.__class__.objects.get(pk=upload.pk) if upload.pk in still_open else upload
            for key, upload in adopted.items()
        }
        self.report.files_pending = sum(1 for u in uploads.values() if not u.is_final)
        self.report.file_seconds += time.monotonic() - began
        for (kind, source_id), upload in sorted(uploads.items()):
            if upload.state == UploadState.FAILED:
                self.report.failures.append(
                    f"{kind} {source_id}: {upload.filename} — {upload.error}"
                )
        if "versions" in self.options.only and still_open:
            # Versions whose file ended refused after their rows were written keep their link.
            self.write_versions(self.live_versions, uploads)
        if "screenshots" in self.options.only:
            self.write_screenshots(uploads)

    def write_screenshots(self, uploads):
        rows, shown = [], []
        for row in self.screenshot_rows:
            upload = uploads.get((ImportedFile.SCREENSHOT, row["id"]))
            if upload is not None and upload.state == UploadState.READY:
                what = f"screenshot {row['id']}"
                values = {
                    "id": row["id"], "item_id": row["item_id"], "title": row["title"],
                    "order": self.checks.order(row["order"], row["id"]), "upload_id": upload.pk,
                    "created_at": self.checks.date(row["created_at"], what),
                }  # fmt: skip
                self.checks.lengths(Screenshot, values, what)
                rows.append(values)
                shown.append(row["id"])
        columns = ["id", "item_id", "title", "order", "upload_id", "created_at"]
        self.write(
            "screenshots",
            columns,
            rows,
            update=columns[1:],
            label=lambda row_id, values: f"screenshot {row_id}",
        )
        # Screenshots the import wrote whose image is now gone or refused leave S7 too (those
        # S7 deleted itself stay in the ledger: deleted on S7).
        gone = set(
            Screenshot.objects.filter(
                pk__in=ImportedRow.objects.filter(table="screenshots")
                .exclude(row_id__in=shown)
                .filter(row_id__in=[row["id"] for row in self.screenshot_rows])
                .values("row_id")
            ).values_list("pk", flat=True)
        )
        with transaction.atomic():
            Screenshot.objects.filter(pk__in=gone).delete()
            ImportedRow.objects.filter(table="screenshots", row_id__in=gone).delete()

    # --- Counts ------------------------------------------------------------------------------

    def recount(self):
        def timed(name, work):
            began = time.monotonic()
            work()
            self.report.step_seconds[name] = time.monotonic() - began

        downloads.restore_keys_and_indexes()
        if "downloads" in self.options.only:
            timed("version counts", downloads.recount_versions)
            timed("download days", downloads.rebuild_download_days)

        def items_users_tags():
            with transaction.atomic():
                services.items_recount()
                services.users_recount()
                services.tags_recount(Tag.objects.values_list("pk", flat=True))

        timed("item, user and tag counts", items_users_tags)
        live = getattr(self, "live_downloads", None)
        if live is None:
            live = {row[0]: row[10] for row in source.fetch(self.live, source.ITEMS)}
        for item_id, name, count in (
            Item.objects.filter(pk__in=live)
            .order_by("pk")
            .values_list("pk", "name", "downloads_count")
        ):
            if live[item_id] != count:
                self.report.count_changes.append(
                    f"item {item_id} “{name}”: {live[item_id]:,} → {count:,}"
                )


def import_live_site(options: Options) -> Report:
    return Importer(options).run()
