"""The whole import in order, each step committed on its own so that a run killed anywhere
continues where it stopped, and its report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import transaction
from tqdm import tqdm

from items import services
from items.importer import downloads, files, source, tables
from items.importer.files import SourceFile
from items.importer.models import ImportedFile
from items.models import Item, Screenshot, Tag, Version
from uploads.core.models import UploadState

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
    wait: float = 600.0  # seconds to wait for the worker to verify the copied files
    quiet: bool = False
    after_download_batch: object = None  # called with the rows copied so far (tests kill here)


@dataclass
class Report:
    dry_run: bool = False
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table → (source, target)
    written: dict[str, int] = field(default_factory=dict)  # table → rows inserted or changed
    files_copied: int = 0
    bytes_copied: int = 0
    files_pending: int = 0
    failures: list[str] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
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
            f"still being verified by the worker: {self.files_pending:,}; "
            f"failures: {len(self.failures):,}.",
        ]
        for title, entries in (
            ("Failures", self.failures),
            ("Merged", self.merges),
            ("Download counts recomputed from the rows (live → S7)", self.count_changes),
            ("Notes", self.notes),
        ):
            if entries:
                lines += ["", f"{title}:", *(f"  - {entry}" for entry in entries)]
        return "\n".join(lines)


class Importer:
    def __init__(self, options: Options):
        self.options = options
        self.report = Report(dry_run=options.dry_run)
        self.started = time.monotonic()

    def bar(self, table: str, total: int):
        return tqdm(
            total=total, desc=f"{table:<12}", unit=" rows", disable=self.options.quiet, leave=True
        )

    def run(self) -> Report:
        with source.connect(self.options.source_url) as live:
            self.live = live
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
                    ("sequences", lambda: tables.move_sequences_past_ids(TARGET_TABLE.values())),
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
        self.report.seconds = time.monotonic() - self.started
        return self.report

    # --- Tables ------------------------------------------------------------------------------

    def write(self, table, columns, rows, *, update):
        if self.options.dry_run:
            return
        with self.bar(table, len(rows)) as bar:
            self.report.written[table] = tables.upsert(
                TARGET_TABLE[table], columns, rows, update=update, progress=bar
            )

    def users(self):
        rows = [(*row, 0, 0) for row in source.fetch(self.live, source.USERS)]
        columns = [
            "id", "username", "first_name", "last_name", "email", "password", "is_staff",
            "is_superuser", "is_active", "date_joined", "last_login",
        ]  # fmt: skip
        self.write("users", [*columns, "items_count", "reviews_count"], rows, update=columns[1:])

    def tags(self):
        merge = source.merge_tags(
            source.fetch(self.live, "SELECT id, name, permalink FROM items_tag")
        )
        self.tag_merge = merge
        self.report.merges += merge.merged
        rows = [(tag_id, name, slug, 0) for tag_id, (name, slug) in sorted(merge.kept.items())]
        self.write(
            "tags", ["id", "name", "permalink", "items_count"], rows, update=["name", "permalink"]
        )
        if not self.options.dry_run:
            merged_away = set(merge.kept_id) - set(merge.kept)
            Tag.objects.filter(pk__in=merged_away).delete()

    def items(self):
        live_items = source.fetch(self.live, source.ITEMS)
        self.live_downloads = {row[0]: row[10] for row in live_items}
        rows = [
            (id_, name, byline, topnote, body, tc_id, user_id,
             source.usable_permalink(permalink, id_), created, updated, 0, 0, 0, 0.0, 0.0, None)
            for id_, name, byline, topnote, body, tc_id, user_id, permalink, created, updated, _
            in live_items
        ]  # fmt: skip
        columns = [
            "id", "name", "byline", "topnote", "body", "tc_id", "owner_id", "permalink",
            "created_at", "updated_at",
        ]  # fmt: skip
        counts = [
            "downloads_count", "reviews_count", "screenshots_count", "rating_average",
            "rating_weighted", "version_created_at",
        ]  # fmt: skip
        self.write("items", columns + counts, rows, update=columns[1:])
        if self.options.dry_run:
            return
        merge = getattr(self, "tag_merge", None) or source.merge_tags(
            source.fetch(self.live, "SELECT id, name, permalink FROM items_tag")
        )
        pairs = {
            (item_id, merge.kept_id[tag_id])
            for item_id, tag_id in source.fetch(self.live, source.ITEM_TAGS)
            if tag_id in merge.kept_id
        }
        tables.sync_item_tags(pairs, [row[0] for row in live_items])

    def versions(self):
        live_versions = source.fetch(self.live, source.VERSIONS)
        wanted = [
            SourceFile(ImportedFile.VERSION, row[0], row[4], row[7])
            for row in live_versions
            if row[4]
        ]
        adopted = self.adopt(wanted, purpose="version_file", table="versions")
        if adopted is None:
            return
        rows = []
        for id_, item_id, name, body, file, link, created, _ in live_versions:
            upload = adopted.uploads.get((ImportedFile.VERSION, id_)) if file else None
            if upload is not None and not (upload.state == UploadState.FAILED and link):
                # The file wins where the live site had both: its download view served the file.
                file_id, link = upload.pk, ""
            else:
                file_id = None
            rows.append((id_, item_id, name, body, file_id, link, 0, created))
        self.write(
            "versions",
            ["id", "item_id", "name", "notes", "file_id", "link", "downloads_count", "created_at"],
            rows,
            update=["item_id", "name", "notes", "file_id", "link", "created_at"],
        )

    def reviews(self):
        merge = source.merge_reviews(source.fetch(self.live, source.REVIEWS))
        self.report.merges += merge.merged
        if self.options.dry_run:
            return
        tables.delete_missing("items_review", "id", [], among_ids=merge.dropped_ids)
        columns = ["id", "version_id", "user_id", "title", "body", "rating", "created_at"]
        self.write("reviews", columns, merge.kept, update=columns[1:])

    def screenshots(self):
        live_shots = source.fetch(self.live, source.SCREENSHOTS)
        wanted = [
            SourceFile(ImportedFile.SCREENSHOT, row[0], row[3], row[6])
            for row in live_shots
            if row[3]
        ]
        self.screenshot_rows = live_shots
        self.adopt(wanted, purpose="screenshot", table="screenshots")
        # Rows are written once their images are ready (finish_files): a screenshot without
        # its image would be half-imported.

    def downloads(self):
        after = downloads.last_imported_id()
        rows, _ = downloads.pending(self.live, after)
        if self.options.dry_run:
            self.report.notes.append(f"{rows:,} download rows past id {after:,} would be copied.")
            return
        with self.bar("downloads", rows) as bar:
            self.report.written["downloads"] = downloads.copy_downloads(
                self.live, progress=bar, after_batch=self.options.after_download_batch
            )

    # --- Files -------------------------------------------------------------------------------

    def adopt(self, wanted: list[SourceFile], *, purpose: str, table: str):
        if self.options.dry_run:
            known = files.known_uploads(wanted)
            self.report.notes.append(
                f"{table}: {len(wanted) - len(known):,} files would be copied "
                f"({len(known):,} already imported)."
            )
            return None
        with tqdm(
            total=len(wanted), desc=f"{table} files", unit=" files", disable=self.options.quiet
        ) as bar:
            adopted = files.adopt(
                wanted, purpose=purpose, bucket=self.options.bucket, prefix=self.options.prefix,
                progress=bar,
            )  # fmt: skip
        self.report.files_copied += adopted.copied
        self.report.bytes_copied += adopted.bytes_copied
        self.adopted = {**getattr(self, "adopted", {}), **adopted.uploads}
        return adopted

    def finish_files(self):
        adopted = getattr(self, "adopted", {})
        if adopted and self.options.wait > 0:
            with tqdm(
                total=len(adopted), desc="verifying", unit=" files", disable=self.options.quiet
            ) as bar:
                files.wait_for_worker(
                    [u.pk for u in adopted.values()], timeout=self.options.wait, progress=bar
                )
        uploads = {
            key: upload.__class__.objects.get(pk=upload.pk) for key, upload in adopted.items()
        }
        self.report.files_pending = sum(1 for u in uploads.values() if not u.is_final)
        for (kind, source_id), upload in sorted(uploads.items()):
            if upload.state == UploadState.FAILED:
                self.report.failures.append(
                    f"{kind} {source_id}: {upload.filename} — {upload.error}"
                )
        if "versions" in self.options.only:
            self.fall_back_to_links(uploads)
        if "screenshots" in self.options.only:
            self.write_screenshots(uploads)

    def fall_back_to_links(self, uploads):
        """A version whose file the worker refused keeps its link, where it has one."""
        links = {
            row[0]: row[5] for row in source.fetch(self.live, source.VERSIONS) if row[4] and row[5]
        }
        for (kind, source_id), upload in uploads.items():
            if (
                kind == ImportedFile.VERSION
                and upload.state == UploadState.FAILED
                and source_id in links
            ):
                Version.objects.filter(pk=source_id, file=upload).update(
                    file=None, link=links[source_id]
                )

    def write_screenshots(self, uploads):
        rows, shown = [], []
        for id_, item_id, title, _file, order, created, _ in self.screenshot_rows:
            upload = uploads.get((ImportedFile.SCREENSHOT, id_))
            if upload is not None and upload.state == UploadState.READY:
                rows.append((id_, item_id, title, max(order, 0), upload.pk, created))
                shown.append(id_)
        columns = ["id", "item_id", "title", "order", "upload_id", "created_at"]
        self.write("screenshots", columns, rows, update=columns[1:])
        # Screenshots whose image is gone or refused on the live site leave S7 too.
        imported = [row[0] for row in self.screenshot_rows]
        Screenshot.objects.filter(pk__in=set(imported) - set(shown)).delete()

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
                for item_id in Item.objects.values_list("pk", flat=True):
                    services.item_recount(item_id)
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
