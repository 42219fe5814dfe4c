"""The counts phase: the download rows' keys and indexes back, every counter recomputed, and
the items whose download count the recount changed."""

import time

from django.db import transaction

from items.counts import items_recount, tags_recount, users_recount
from items.importer import downloads, source
from items.importer.context import Run
from items.models import Item, Tag


def recount(run: Run):
    def timed(name, work):
        began = time.monotonic()
        work()
        run.report.step_seconds[name] = time.monotonic() - began

    downloads.restore_keys_and_indexes()
    if "downloads" in run.options.only:
        timed("version counts", downloads.recount_versions)
        timed("download days", downloads.rebuild_download_days)

    def items_users_tags():
        with transaction.atomic():
            items_recount()
            users_recount()
            tags_recount(Tag.objects.values_list("pk", flat=True))

    timed("item, user and tag counts", items_users_tags)
    live = run.live_downloads
    if live is None:
        live = {row[0]: row[10] for row in source.fetch(run.live, source.ITEMS)}
    for item_id, name, count in (
        Item.objects.filter(pk__in=live).order_by("pk").values_list("pk", "name", "downloads_count")
    ):
        if live[item_id] != count:
            run.report.count_changes.append(
                f"item {item_id} “{name}”: {live[item_id]:,} → {count:,}"
            )
