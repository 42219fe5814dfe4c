"""The site's reads that are more than a one-liner."""

from django.db.models import F, Prefetch, Q

from items.models import Item, Review, Screenshot

SORTS = {
    # An item without a version yet has no version time; Postgres would put it first.
    "new": (F("version_created_at").desc(nulls_last=True), "-created_at", "-pk"),
    "downloads": ("-downloads_count", "-pk"),
    "rating": ("-rating_weighted", "-reviews_count", "-pk"),
}


def items_list(*, q: str = "", tag: str = "", tc: str = "", sort: str = "new"):
    """Items matching a search of name, byline and body, a tag and a total conversion."""
    items = Item.objects.select_related("owner").prefetch_related(
        "tags", Prefetch("screenshots", queryset=Screenshot.objects.select_related("upload"))
    )
    for word in q.split()[:10]:
        items = items.filter(
            Q(name__icontains=word) | Q(byline__icontains=word) | Q(body__icontains=word)
        )
    if tag:
        items = items.filter(tags__permalink=tag)
    if tc:
        items = items.filter(tc__permalink=tc)
    return items.order_by(*SORTS.get(sort, SORTS["new"]))


def reviews_list():
    return Review.objects.select_related("user", "version__item")
