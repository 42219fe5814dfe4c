"""The versions phase: the live versions of items on S7, their files adopted as Uploads."""

from items.importer import source
from items.importer.context import Run
from items.importer.files import SourceFile
from items.importer.models import ImportedFile
from items.importer.phases.files import adopt
from items.models import Version
from uploads.core.models import UploadState


def versions(run: Run):
    live_versions = source.fetch_dicts(run.live, source.VERSIONS)
    present_items = run.present("items_item")
    kept, orphans = [], []
    for row in live_versions:
        if row["item_id"] not in present_items:
            orphans.append(row)
            continue
        what = f"version {row['id']}"
        row["link"] = run.checks.link(row["link"], row["id"])
        row["created_at"] = run.checks.date(row["created_at"], what)
        run.checks.lengths(Version, row, what)
        kept.append(row)
    if orphans:
        run.report.left_out.append(
            "versions whose item is not on S7: " + ", ".join(str(r["id"]) for r in orphans)
        )
    # A version deleted on S7 stays deleted: its file is not copied again.
    gone = run.deleted_on_s7("versions")
    wanted = [
        SourceFile(ImportedFile.VERSION, row["id"], row["file"], row["owner_id"])
        for row in kept
        if row["file"] and row["id"] not in gone
    ]
    adopted = adopt(run, wanted, purpose="version_file", table="versions")
    write_versions(run, kept, adopted)


def write_versions(run: Run, live_versions, adopted):
    rows, unservable = [], []
    gone = run.deleted_on_s7("versions")
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
        run.report.left_out.append(
            "versions with neither a file nor a link S7 can serve: "
            + ", ".join(map(str, unservable))
        )
    run.live_versions = live_versions
    return run.write(
        "versions",
        ["id", "item_id", "name", "notes", "file_id", "link", "downloads_count", "created_at"],
        rows,
        update=["item_id", "name", "notes", "file_id", "link", "created_at"],
        label=lambda row_id, values: f"version {row_id} “{values['name']}”",
    )
