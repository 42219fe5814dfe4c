"""The reviews phase: one review per member and version, the newest, whichever side wrote it."""

from items.importer import source, tables
from items.importer.context import Run
from items.importer.models import ImportedRow
from items.models import Review


def reviews(run: Run):
    rows = source.fetch(run.live, source.REVIEWS)
    merge = source.merge_reviews(rows)
    run.report.merges += merge.merged
    if not run.options.dry_run and merge.dropped_ids:
        tables.delete_missing("items_review", "id", [], among_ids=merge.dropped_ids)
        ImportedRow.objects.filter(table="reviews", row_id__in=merge.dropped_ids).delete()
    present_versions = run.present("items_version")
    present_users = run.present("items_user")
    columns = ["id", "version_id", "user_id", "title", "body", "rating", "created_at"]
    kept, orphans = [], []
    for row in merge.kept:
        values = dict(zip(columns, row, strict=True))
        if values["version_id"] not in present_versions or values["user_id"] not in present_users:
            orphans.append(values["id"])
            continue
        values["created_at"] = run.checks.date(values["created_at"], f"review {values['id']}")
        run.checks.lengths(Review, values, f"review {values['id']}")
        kept.append(values)
    if orphans:
        run.report.left_out.append(
            "reviews whose version or reviewer is not on S7: " + ", ".join(map(str, orphans))
        )
    run.write(
        "reviews",
        columns,
        kept,
        update=columns[1:],
        label=lambda row_id, values: f"review {row_id} “{values['title']}”",
        before_write=lambda decisions: one_review_per_pair(run, decisions),
    )


def one_review_per_pair(run: Run, decisions):
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
            run.report.merges.append(
                f"review {live_id} of the live site and review {review.pk} made on S7, of "
                f"version {review.version_id} by user {review.user_id}: {review.pk} (the "
                "newest) kept"
            )
        else:
            run.report.merges.append(
                f"review {review.pk} made on S7 and review {live_id} of the live site, of "
                f"version {review.version_id} by user {review.user_id}: {live_id} (the "
                "newest) kept"
            )
            review.delete()
