"""The site's section of the admin's analytics page: downloads per day and the most downloaded
items and versions of the window.

It reads ``DownloadDay`` (one row per version per day), never the download rows, so a year of a
busy site is at most a few hundred thousand small rows. Registered with the engine's page in
``ItemsConfig.ready``; the engine knows nothing of items.
"""

from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from items.models import DownloadDay, Item, Version
from uploads.reports.analytics import TOP, Figure, Section, Series, Window


def downloads_section(window: Window) -> Section:
    per_day, per_item, per_version = download_sums(window)
    total = sum(per_day.values())
    top_items = _top(per_item)
    top_versions = _top(per_version)
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
            ("Items downloaded", f"{sum(1 for count in per_item.values() if count):,}"),
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


def download_sums(window: Window) -> tuple[dict, dict, dict]:
    """Downloads in the window by day, by item and by version: ``{key: count}`` each.

    On Postgres one pass over the window's rows (GROUPING SETS); elsewhere three queries.
    """
    days = DownloadDay.objects.filter(day__gte=window.first_day, day__lte=window.last_day)
    if connection.vendor != "postgresql":
        return tuple(
            dict(days.values_list(key).annotate(total=Sum("count")).order_by())
            for key in ("day", "item_id", "version_id")
        )
    table = DownloadDay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT day, item_id, version_id, SUM(count), GROUPING(day, item_id, version_id)
            FROM {table} WHERE day >= %s AND day <= %s
            GROUP BY GROUPING SETS ((day), (item_id), (version_id))
            """,
            [window.first_day, window.last_day],
        )
        per_day, per_item, per_version = {}, {}, {}
        for day, item_id, version_id, total, grouping in cursor.fetchall():
            # GROUPING's bits say which columns a row does not group by: day, item, version.
            if grouping == 0b011:
                per_day[day] = total
            elif grouping == 0b101:
                per_item[item_id] = total
            else:
                per_version[version_id] = total
    return per_day, per_item, per_version


def _top(counts: dict) -> list[tuple[int, int]]:
    """The ten largest, ties broken by the smaller id."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP]
