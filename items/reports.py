"""The site's section of the admin's analytics page: downloads per day and the most downloaded
items and versions of the window.

It reads ``DownloadDay`` (one row per version per day), never the download rows, so a year of a
busy site is at most a few hundred thousand small rows. Registered with the engine's page in
``ItemsConfig.ready``; the engine knows nothing of items.
"""

from django.db.models import Sum
from django.urls import reverse

from items.models import DownloadDay, Item, Version
from uploads.reports.analytics import TOP, Figure, Section, Series, Window


def downloads_section(window: Window) -> Section:
    days = DownloadDay.objects.filter(day__gte=window.first_day, day__lte=window.last_day)
    per_day = dict(days.values_list("day").annotate(total=Sum("count")).order_by())
    total = sum(per_day.values())
    top_items = list(
        days.values_list("item_id").annotate(total=Sum("count")).order_by("-total", "item_id")[:TOP]
    )
    top_versions = list(
        days.values_list("version_id")
        .annotate(total=Sum("count"))
        .order_by("-total", "version_id")[:TOP]
    )
    # Names are looked up for the ten winners only, after the counting.
    items = Item.objects.in_bulk([pk for pk, _ in top_items])
    versions = Version.objects.select_related("item").in_bulk([pk for pk, _ in top_versions])
    item_rows = [(items[pk], count) for pk, count in top_items if pk in items]
    version_rows = [(versions[pk], count) for pk, count in top_versions if pk in versions]
    return Section(
        slug="downloads",
        title="Downloads",
        note="Every download in the window, whatever the purpose chosen above.",
        headline=[
            ("Downloads", f"{total:,}"),
            ("Items downloaded", f"{days.values('item_id').distinct().count():,}"),
        ],
        figures=[
            Figure(
                slug="downloads-per-day",
                title="Downloads per day",
                columns=["day", "downloads"],
                rows=[[day, per_day.get(day, 0)] for day in window.days()],
                chart="stacked",
                series=(Series("downloads", "info"),),
            ),
            Figure(
                slug="top-items",
                title="Most downloaded items",
                columns=["item", "downloads", "permalink"],
                rows=[[item.name, count, item.permalink] for item, count in item_rows],
                links=[reverse("admin:items_item_change", args=[item.pk]) for item, _ in item_rows],
            ),
            Figure(
                slug="top-versions",
                title="Most downloaded versions",
                columns=["version", "item", "downloads", "version id"],
                rows=[
                    [version.name or f"#{version.pk}", version.item.name, count, version.pk]
                    for version, count in version_rows
                ],
                links=[
                    reverse("admin:items_version_change", args=[version.pk])
                    for version, _ in version_rows
                ],
                hidden=("version id",),
            ),
        ],
    )
