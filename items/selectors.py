"""The site's reads that are more than a one-liner."""

from datetime import UTC, timedelta

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from items.models import DownloadDay, Item, Review, Screenshot, Tag, User, Version

# The text search configuration the migration ``0005_search_unaccent`` creates: English
# stemming over unaccented words, so "Pfhor" finds "Pfhór" and "maps" finds "map".
SEARCH_CONFIG = "s7_unaccent"

# Download windows, in UTC days counted back from today (today included).
WINDOWS = {"day": 1, "week": 7, "month": 30}

NEWEST_VERSION_FIRST = (F("version_created_at").desc(nulls_last=True), "-created_at", "-pk")

# The live site's orders. The review orders list only reviewed items, as it did.
ORDERS = {
    "new": NEWEST_VERSION_FIRST,
    "old": (F("version_created_at").asc(nulls_last=True), "created_at", "pk"),
    "reviews": ("-rating_average", "-reviews_count", *NEWEST_VERSION_FIRST),
    "best": ("-rating_weighted", "-rating_average", "-reviews_count", *NEWEST_VERSION_FIRST),
    "worst": ("rating_weighted", "rating_average", "-reviews_count", *NEWEST_VERSION_FIRST),
    "loud": ("-reviews_count", *NEWEST_VERSION_FIRST),
    "popular": ("-downloads_count", *NEWEST_VERSION_FIRST),
    "random": ("?",),
    **{
        window: ("-window_downloads", "-downloads_count", *NEWEST_VERSION_FIRST)
        for window in WINDOWS
    },
}
REVIEWED_ONLY = {"reviews", "best", "worst", "loud"}

# What the sort links say, grouped as the live site's sidebar groups them.
ORDER_LABELS = [
    ("Release", [("new", "Newest"), ("old", "Oldest")]),
    ("Reviews", [("best", "Best reviewed"), ("reviews", "Average review"),
                 ("loud", "Most reviews"), ("worst", "Worst reviewed")]),
    ("Downloads", [("day", "Today"), ("week", "This week"), ("month", "This month"),
                   ("popular", "All time")]),
    ("More", [("random", "Random")]),
]  # fmt: skip


# The live site's sidebar: gameplay tags, file types and the three Marathon scenarios (by
# permalink); only those that exist here are shown.
SIDEBAR_LINKS = [
    ("Upload types", "tag", [
        ("Netmaps", "netmaps"), ("Scenarios", "scenario"), ("Enhancements", "enhancement"),
        ("Plugins", "plugin"), ("Scripts", "script"), ("Physics", "physics"),
        ("Music", "music"), ("Utilities", "utility"),
    ]),
    ("Gameplay types", "tag", [
        ("Solo", "solo"), ("Solo / Cooperative", "solocoop"), ("Survival", "survival"),
        ("Multiplayer", "multiplayer"), ("Every Man for Himself", "emfh"),
        ("King of the Hill", "koth"), ("Kill the Man with the Ball", "ktmwtb"),
        ("Capture the Flag", "ctf"),
    ]),
    ("Uploads for scenarios", "scenario", [
        ("Marathon", "marathon"), ("Marathon: Durandal", "marathon-2-durandal"),
        ("Marathon: Infinity", "marathon-infinity"),
    ]),
]  # fmt: skip


def today_utc():
    return timezone.now().astimezone(UTC).date()


def window_start(window: str, today=None):
    return (today or today_utc()) - timedelta(days=WINDOWS[window] - 1)


def _with_listing_relations(items):
    # A card shows no body: the texts and their HTML (up to hundreds of KB an item) stay behind.
    return (
        items.defer("body", "body_html")
        .select_related("owner")
        .prefetch_related(
            "tags", Prefetch("screenshots", queryset=Screenshot.objects.select_related("upload"))
        )
    )


def items_list(
    *,
    search: str = "",
    order: str = "new",
    tag: Tag | None = None,
    tc: Item | None = None,
    owner=None,
    include_unversioned: bool = False,
    today=None,
):
    """The items a list shows: filtered by tag, total conversion and owner, then ranked by
    ``search`` when there is one (search wins over order, as on the live site), else in
    ``order``. Items without a version are left out unless ``include_unversioned``."""
    items = _with_listing_relations(Item.objects.all())
    if not include_unversioned:
        items = items.filter(Exists(Version.objects.filter(item=OuterRef("pk"))))
    if tag is not None:
        items = items.filter(tags=tag)
    if tc is not None:
        items = items.filter(tc=tc)
    if owner is not None:
        items = items.filter(owner=owner)
    # Postgres refuses NUL in any text, so it cannot be part of a search.
    search = " ".join(search.replace("\x00", " ").split())[:200]
    if search:
        return search_items(items, search)
    order = order if order in ORDERS else "new"
    if order in REVIEWED_ONLY:
        items = items.filter(reviews_count__gt=0)
    if order in WINDOWS:
        items = items.annotate(window_downloads=window_downloads(order, today=today))
    return items.order_by(*ORDERS[order])


def window_downloads(window: str, *, today=None):
    """Per item: its downloads in ``window``, summed from the per-day counts."""
    today = today or today_utc()
    days = (
        DownloadDay.objects.filter(
            item=OuterRef("pk"), day__gte=window_start(window, today), day__lte=today
        )
        .order_by()
        .values("item")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return Coalesce(Subquery(days), Value(0))


def search_items(items, search: str):
    if connection.vendor == "postgresql":
        return _full_text_search(items, search)
    return _simple_search(items, search)


def _full_text_search(items, search: str):
    """Ranked full-text search: a word in the name or byline (weight A) counts far more than
    one in the tags (C) or the description (D); accents are ignored on both sides."""
    tag_names = Subquery(
        Item.tags.through.objects.filter(item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(names=StringAgg("tag__name", " "))
        .values("names")
    )
    document = (
        SearchVector("name", "byline", weight="A", config=SEARCH_CONFIG)
        + SearchVector(tag_names, weight="C", config=SEARCH_CONFIG)
        + SearchVector("body", weight="D", config=SEARCH_CONFIG)
    )
    query = SearchQuery(search, search_type="websearch", config=SEARCH_CONFIG)
    return (
        items.annotate(document=document)
        .filter(document=query)
        .annotate(rank=SearchRank(document, query))
        .order_by("-rank", *NEWEST_VERSION_FIRST)
    )


def _simple_search(items, search: str):
    """Where there is no Postgres (the embedded SQLite default): every word somewhere."""
    for word in search.split()[:10]:
        tagged = Item.tags.through.objects.filter(item=OuterRef("pk"), tag__name__icontains=word)
        items = items.filter(
            Q(name__icontains=word)
            | Q(byline__icontains=word)
            | Q(body__icontains=word)
            | Q(Exists(tagged))
        )
    return items.order_by(*NEWEST_VERSION_FIRST)


def scenarios_list():
    """Items that other items name as their total conversion, most children first."""
    return (
        _with_listing_relations(Item.objects.all())
        .annotate(children=Count("tc_items"))
        .filter(children__gt=0)
        .order_by("-children", "name", "pk")
    )


def _window_sums(today):
    # Named apart from the model's own ``day`` field, which the filters refer to.
    return {
        f"in_{window}": Coalesce(
            Sum("count", filter=Q(day__gte=window_start(window, today))), Value(0)
        )
        for window in WINDOWS
    }


def _by_window(row) -> dict[str, int]:
    return {window: row[f"in_{window}"] for window in WINDOWS}


def _recent_days(today):
    return DownloadDay.objects.filter(day__gte=window_start("month", today), day__lte=today)


def download_windows(item: Item, *, today=None) -> dict[str, int]:
    """The item's downloads today, this week and this month: one query over its day counts
    (at most 30 rows a version, read through the (item, day) index)."""
    today = today or today_utc()
    return _by_window(_recent_days(today).filter(item=item).aggregate(**_window_sums(today)))


def download_windows_by_item(item_ids, *, today=None) -> dict[int, dict[str, int]]:
    today = today or today_utc()
    rows = (
        _recent_days(today)
        .filter(item_id__in=list(item_ids))
        .order_by()
        .values("item_id")
        .annotate(**_window_sums(today))
    )
    return {row["item_id"]: _by_window(row) for row in rows}


def reviews_list():
    """Reviews with what lists show of them: titles and the stored excerpt."""
    return Review.objects.select_related("user", "version__item").defer("body", "body_html")


def sidebar_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The sidebar's groups of (label, address), each link only when what it names exists."""
    tags = set(
        Tag.objects.filter(
            permalink__in=[p for _, kind, links in SIDEBAR_LINKS if kind == "tag" for _, p in links]
        ).values_list("permalink", flat=True)
    )
    scenarios = set(
        Item.objects.filter(
            permalink__in=[
                p for _, kind, links in SIDEBAR_LINKS if kind == "scenario" for _, p in links
            ]
        ).values_list("permalink", flat=True)
    )
    groups = []
    for title, kind, links in SIDEBAR_LINKS:
        there = tags if kind == "tag" else scenarios
        shown = [(label, reverse(kind, args=[p])) for label, p in links if p in there]
        if shown:
            groups.append((title, shown))
    return groups


def item_reviews(item: Item):
    """The reviews an item's page shows, newest first, without their full bodies."""
    return (
        Review.objects.filter(version__item=item)
        .select_related("user", "version__item")
        .defer("body", "body_excerpt_html")
        .order_by("-created_at")
    )


def tags_in_use():
    return Tag.objects.filter(items_count__gt=0).order_by("name")


def contributors_list():
    """As on the live site: everyone who has published or reviewed, most contributions first."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(items_count__gt=0) | Q(reviews_count__gt=0))
        .annotate(contributions=F("items_count") + F("reviews_count"))
        .order_by("-contributions", "username")
    )


def owned_items(owner):
    """An owner's items with their versions, newest version first (their desk)."""
    return (
        Item.objects.filter(owner=owner)
        .prefetch_related("versions")
        .order_by(*NEWEST_VERSION_FIRST)
    )


def reviews_with_item():
    """Reviews with their author and item, as one review's pages show them."""
    return Review.objects.select_related("user", "version__item")
