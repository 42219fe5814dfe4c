"""The site's counts (an item's reviews, rating, screenshots and downloads, a member's items
and reviews, a tag's items, the downloads per day), recomputed from the rows they count in one
UPDATE with a subquery rather than nudged up and down, so that a count can never drift."""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from items.models import Download, DownloadDay, Item, Review, Screenshot, Tag, User, Version


def _count_of(model, **outer):
    return Coalesce(
        Subquery(
            model.objects.filter(**outer)
            .order_by()
            .values(*outer.keys())
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        Value(0),
    )


def weighted_rating(average: float, count: int) -> float:
    """A Bayesian average: the item's ratings plus ``m`` imaginary reviews of the prior.

    With m=5 and a prior of 3 stars, one 5-star review gives 3.33 while fifty 4-star ones
    give 3.91, so a single enthusiast cannot put an item above a well-loved one.
    """
    m = settings.ITEMS_RATING_PRIOR_COUNT
    if not count:
        return 0.0
    return (average * count + settings.ITEMS_RATING_PRIOR * m) / (count + m)


def item_recount(item_id: int) -> None:
    stats = Review.objects.filter(version__item_id=item_id).aggregate(
        avg=Avg("rating"), n=Count("pk")
    )
    average = float(stats["avg"] or 0)
    newest = Version.objects.filter(item_id=item_id).aggregate(at=Max("created_at"))["at"]
    Item.objects.filter(pk=item_id).update(
        reviews_count=stats["n"],
        rating_average=round(average, 3),
        rating_weighted=round(weighted_rating(average, stats["n"]), 4),
        screenshots_count=_count_of(Screenshot, item=OuterRef("pk")),
        downloads_count=_item_downloads(),
        version_created_at=newest,
    )


def _item_downloads():
    """Per item: the sum of its versions' download counts."""
    return Coalesce(
        Subquery(
            Version.objects.filter(item=OuterRef("pk"))
            .order_by()
            .values("item")
            .annotate(n=Coalesce(Sum("downloads_count"), Value(0)))
            .values("n")[:1]
        ),
        Value(0),
    )


def items_recount(item_ids=None) -> None:
    """``item_recount`` for many items (every item: None) in a few statements whatever their
    number, for imports and repairs; only the items whose ratings moved are written."""
    items = Item.objects.all() if item_ids is None else Item.objects.filter(pk__in=list(item_ids))
    items.update(
        screenshots_count=_count_of(Screenshot, item=OuterRef("pk")),
        downloads_count=_item_downloads(),
        version_created_at=Subquery(
            Version.objects.filter(item=OuterRef("pk"))
            .order_by()
            .values("item")
            .annotate(at=Max("created_at"))
            .values("at")[:1]
        ),
    )
    ratings = {
        row["version__item"]: (row["n"], float(row["avg"] or 0))
        for row in Review.objects.filter(version__item__in=items)
        .order_by()
        .values("version__item")
        .annotate(avg=Avg("rating"), n=Count("pk"))
    }
    changed = []
    for item in items.only("pk", "reviews_count", "rating_average", "rating_weighted"):
        count, average = ratings.get(item.pk, (0, 0.0))
        values = (count, round(average, 3), round(weighted_rating(average, count), 4))
        if values != (item.reviews_count, item.rating_average, item.rating_weighted):
            item.reviews_count, item.rating_average, item.rating_weighted = values
            changed.append(item)
    Item.objects.bulk_update(
        changed, ["reviews_count", "rating_average", "rating_weighted"], batch_size=500
    )


def user_recount(user_id: int) -> None:
    users_recount([user_id])


def users_recount(user_ids=None) -> None:
    """Recount the given users' items and reviews, or every user's (None) in one UPDATE."""
    users = User.objects.all() if user_ids is None else User.objects.filter(pk__in=list(user_ids))
    users.update(
        items_count=_count_of(Item, owner=OuterRef("pk")),
        reviews_count=_count_of(Review, user=OuterRef("pk")),
    )


def tags_recount(tag_ids) -> None:
    Tag.objects.filter(pk__in=list(tag_ids)).update(
        items_count=Coalesce(
            Subquery(
                Item.tags.through.objects.filter(tag=OuterRef("pk"))
                .order_by()
                .values("tag")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            ),
            Value(0),
        )
    )


def download_days_rebuild() -> int:
    """Recount every day from the download rows (after an import); returns the days written."""
    rows = (
        Download.objects.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("version_id", "version__item_id", "day")
        .annotate(count=Count("id"))
        .order_by()
    )
    with transaction.atomic():
        DownloadDay.objects.all().delete()
        made = DownloadDay.objects.bulk_create(
            (
                DownloadDay(
                    item_id=row["version__item_id"],
                    version_id=row["version_id"],
                    day=row["day"],
                    count=row["count"],
                )
                for row in rows.iterator(chunk_size=10_000)
            ),
            batch_size=10_000,
        )
    return len(made)
