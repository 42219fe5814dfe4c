"""The items phase: the live items whose owner is on S7, and their tags."""

from django.db import transaction

from items.importer import ledger, source, tables
from items.importer.context import Run
from items.models import Item


def items(run: Run):
    live_items = source.fetch_dicts(run.live, source.ITEMS)
    run.live_downloads = {row["id"]: row.pop("downloads_count") for row in live_items}
    run.checks.permalinks(live_items)
    present_users = run.present("items_user")
    present_items = run.present("items_item") | {row["id"] for row in live_items}
    rows, orphans = [], []
    for row in live_items:
        what = f"item {row['id']}"
        if row["owner_id"] not in present_users:
            orphans.append(row["id"])
            continue
        if row["tc_id"] not in present_items:
            row["tc_id"] = None
        row["created_at"] = run.checks.date(row["created_at"], what)
        row["updated_at"] = run.checks.date(row["updated_at"], what)
        run.checks.lengths(Item, row, what)
        rows.append(
            {**row, "downloads_count": 0, "reviews_count": 0, "screenshots_count": 0,
             "rating_average": 0.0, "rating_weighted": 0.0, "version_created_at": None}
        )  # fmt: skip
    if orphans:
        run.report.left_out.append(
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
    decisions = run.write(
        "items",
        columns + counts,
        rows,
        update=columns[1:],
        label=label,
        unique=["permalink"],
        before_write=lambda d: run.s7_holders("items_item", "permalink", d.final, max_length=255),
    )
    item_tags(run, [row for row in rows if row["id"] in decisions.final], label)


def item_tags(run: Run, rows, label):
    """An item's tags are one more column of it: S7's edit of them is kept likewise."""
    merge = run.tag_merge or source.merge_tags(
        source.fetch(run.live, "SELECT id, name, permalink FROM items_tag")
    )
    wanted = {row["id"]: set() for row in rows}
    for item_id, tag_id in source.fetch(run.live, source.ITEM_TAGS):
        if item_id in wanted and tag_id in merge.kept_id:
            wanted[item_id].add(merge.kept_id[tag_id])
    remembered = ledger.remembered("item_tags")
    current = {
        item_id: {"tags": set()} for item_id in run.present("items_item") if item_id in remembered
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
    run.report.kept += decisions.kept
    run.report.conflicts += decisions.conflicts
    if run.options.dry_run:
        return
    present_tags = run.present("items_tag")
    changed = {
        item_id: {(item_id, tag_id) for tag_id in values["tags"] if tag_id in present_tags}
        for item_id, values in decisions.final.items()
        if values["tags"] != current.get(item_id, {"tags": set()})["tags"]
    }
    merged_in = [
        Item.tags.through(item_id=item_id, tag_id=live_tag)
        for live_tag, item_ids in run.s7_tags_merged.items()
        for item_id in item_ids
    ]
    with transaction.atomic():
        tables.sync_item_tags(set().union(*changed.values()), list(changed))
        # The items of an S7 tag merged into a live one, whichever side made them.
        Item.tags.through.objects.bulk_create(merged_in, ignore_conflicts=True)
        ledger.remember("item_tags", decisions.ledger)
