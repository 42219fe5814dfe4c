"""The screenshots phase: the images adopted first, the rows written once their image is ready."""

from django.db import transaction

from items.importer import source
from items.importer.context import Run
from items.importer.files import SourceFile
from items.importer.models import ImportedFile, ImportedRow
from items.importer.phases.files import adopt
from items.models import Screenshot
from uploads.core.models import UploadState


def screenshots(run: Run):
    live_shots = source.fetch_dicts(run.live, source.SCREENSHOTS)
    present_items = run.present("items_item")
    run.screenshot_rows = [row for row in live_shots if row["item_id"] in present_items]
    orphans = [row["id"] for row in live_shots if row["item_id"] not in present_items]
    if orphans:
        run.report.left_out.append(
            "screenshots whose item is not on S7: " + ", ".join(map(str, orphans))
        )
    gone = run.deleted_on_s7("screenshots") & {row["id"] for row in run.screenshot_rows}
    if gone:
        run.report.left_out.append(
            "screenshots deleted on S7 since they were imported, not brought back: "
            + ", ".join(map(str, sorted(gone)))
        )
    wanted = [
        SourceFile(ImportedFile.SCREENSHOT, row["id"], row["file"], row["owner_id"])
        for row in run.screenshot_rows
        if row["file"] and row["id"] not in gone
    ]
    adopt(run, wanted, purpose="screenshot", table="screenshots")
    # Rows are written once their images are ready (finish_files): a screenshot without
    # its image would be half-imported.


def write_screenshots(run: Run, uploads):
    rows, shown = [], []
    for row in run.screenshot_rows:
        upload = uploads.get((ImportedFile.SCREENSHOT, row["id"]))
        if upload is not None and upload.state == UploadState.READY:
            what = f"screenshot {row['id']}"
            values = {
                "id": row["id"], "item_id": row["item_id"], "title": row["title"],
                "order": run.checks.order(row["order"], row["id"]), "upload_id": upload.pk,
                "created_at": run.checks.date(row["created_at"], what),
            }  # fmt: skip
            run.checks.lengths(Screenshot, values, what)
            rows.append(values)
            shown.append(row["id"])
    columns = ["id", "item_id", "title", "order", "upload_id", "created_at"]
    run.write(
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
            .filter(row_id__in=[row["id"] for row in run.screenshot_rows])
            .values("row_id")
        ).values_list("pk", flat=True)
    )
    with transaction.atomic():
        Screenshot.objects.filter(pk__in=gone).delete()
        ImportedRow.objects.filter(table="screenshots", row_id__in=gone).delete()
