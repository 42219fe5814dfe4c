"""The site's writes. Plain functions with keyword-only arguments, one transaction each.

Each write has the counts it changes recomputed (``items.counts``); only the download counters,
which are hot, are incremented with F() in the same transaction as the Download row.
"""

from __future__ import annotations

from datetime import UTC

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify

from items import announcements, limits
from items.counts import item_recount, tags_recount, user_recount
from items.markup import fill_missing_html
from items.models import (
    RESERVED_PERMALINKS,
    Download,
    DownloadDay,
    Item,
    Review,
    Screenshot,
    Tag,
    Version,
)


class NotAllowed(Exception):
    """The rule the site keeps that this action breaks; the message is shown to the user."""


# --- Tags ----------------------------------------------------------------------------------


def parse_tag_names(text: str) -> list[str]:
    """``"Map, net , Solo"`` → ``["map", "net", "solo"]``: unique, lower-case, in order."""
    names: list[str] = []
    for raw in text.replace(";", ",").split(","):
        name = " ".join(raw.split()).lower()[:50]
        if name and slugify(name) and name not in names:
            names.append(name)
    return names


def tags_for(names: list[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag = (
            Tag.objects.filter(name=name).first()
            or Tag.objects.filter(permalink=slugify(name)).first()
        )
        if tag is None:
            tag = Tag.objects.create(name=name, permalink=_free_slug(Tag, slugify(name)[:50]))
        tags.append(tag)
    return tags


def _free_slug(model, base: str) -> str:
    base = base or "item"
    slug, n = base, 1
    while model.objects.filter(permalink=slug).exists() or slug in RESERVED_PERMALINKS:
        n += 1
        slug = f"{base}-{n}"
    return slug


def free_item_permalink(name: str) -> str:
    return _free_slug(Item, slugify(name)[:90])


# --- Items ---------------------------------------------------------------------------------


@transaction.atomic
def item_save(*, item: Item, tag_names: list[str] | None = None) -> Item:
    """Create or update ``item`` (its owner already set) and set its tags."""
    if not item.permalink:
        item.permalink = free_item_permalink(item.name)
    creating = item.pk is None
    item.save()
    if tag_names is not None:
        before = set(item.tags.values_list("pk", flat=True))
        tags = tags_for(tag_names)
        item.tags.set(tags)
        tags_recount(before | {tag.pk for tag in tags})
    if creating:
        user_recount(item.owner_id)
    return item


@transaction.atomic
def item_delete(*, item: Item) -> None:
    """Delete the item with its versions, screenshots, reviews and downloads.

    The uploads of its versions and screenshots are deleted with them, their stored files once
    the transaction commits (``items.receivers``); reviewers' and the owner's counts and the
    tags' counts follow.
    """
    owner_id = item.owner_id
    tag_ids = set(item.tags.values_list("pk", flat=True))
    reviewer_ids = set(Review.objects.filter(version__item=item).values_list("user_id", flat=True))
    Screenshot.objects.filter(item=item).delete()
    Download.objects.filter(version__item=item).delete()
    Review.objects.filter(version__item=item).delete()
    Version.objects.filter(item=item).delete()
    item.delete()
    tags_recount(tag_ids)
    for user_id in reviewer_ids | {owner_id}:
        user_recount(user_id)


# --- Versions ------------------------------------------------------------------------------


@transaction.atomic
def version_save(*, version: Version) -> Version:
    is_new = version.pk is None
    version.save()
    item_recount(version.item_id)
    if is_new:
        announcements.schedule("version", version.pk)
    return version


# --- Screenshots ---------------------------------------------------------------------------


@transaction.atomic
def screenshots_add(*, item: Item, uploads_and_titles: list[tuple]) -> list[Screenshot]:
    last = item.screenshots.aggregate(m=Max("order"))["m"]
    order = 0 if last is None else last + 1
    made = []
    for upload, title in uploads_and_titles:
        made.append(Screenshot.objects.create(item=item, upload=upload, title=title, order=order))
        order += 1
    item_recount(item.pk)
    return made


@transaction.atomic
def screenshots_arrange(
    *, item: Item, orders: dict[int, int], titles: dict[int, str], delete: set[int]
) -> None:
    """Set order and title of the item's screenshots and delete some; others' ids are ignored."""
    for shot in item.screenshots.select_for_update():
        if shot.pk in delete:
            shot.delete()
            continue
        shot.order = orders.get(shot.pk, shot.order)
        shot.title = titles.get(shot.pk, shot.title)
        shot.save(update_fields=["order", "title"])
    item_recount(item.pk)


@transaction.atomic
def screenshot_update(*, screenshot: Screenshot, title: str, order: int, upload=None) -> Screenshot:
    """Retitle and move one screenshot, and put ``upload`` in place of its image if given.

    The replaced upload stays in the engine, as a deleted screenshot's does.
    """
    screenshot.title = title
    screenshot.order = order
    if upload is not None:
        screenshot.upload = upload
    screenshot.save(update_fields=["title", "order", "upload"])
    return screenshot


# --- Reviews -------------------------------------------------------------------------------


@transaction.atomic
def review_create(*, version: Version, user, title: str, body: str, rating: int) -> Review:
    if version.item.owner_id == user.pk:
        raise NotAllowed("You cannot review your own item.")
    if Review.objects.filter(version=version, user=user).exists():
        raise NotAllowed("You have already reviewed this version.")
    review = Review.objects.create(
        version=version, user=user, title=title, body=body, rating=rating
    )
    item_recount(version.item_id)
    user_recount(user.pk)
    announcements.schedule("review", review.pk)
    return review


@transaction.atomic
def review_update(*, review: Review) -> Review:
    """Save the author's changes to title, body and rating; the item's rating follows."""
    review.save(update_fields=["title", "body", "rating"])
    item_recount(review.version.item_id)
    return review


@transaction.atomic
def review_delete(*, review: Review) -> None:
    item_id, user_id = review.version.item_id, review.user_id
    review.delete()
    item_recount(item_id)
    user_recount(user_id)


# --- Downloads -----------------------------------------------------------------------------


@transaction.atomic
def download_record(*, version: Version, user=None, visitor: str | None = None) -> Download | None:
    """Count one download: the version's and the item's counters, the day's count, and a
    Download row.

    ``visitor`` (``limits.visitor``: the user, or the hashed client address) counts once per
    version per day (UTC): None when this visitor's download of it today was counted already.
    """
    today = timezone.now().astimezone(UTC).date()
    if visitor is not None and not limits.first_time_today(
        "download", f"{version.pk}:{visitor}", today
    ):
        return None
    Version.objects.filter(pk=version.pk).update(downloads_count=F("downloads_count") + 1)
    Item.objects.filter(pk=version.item_id).update(downloads_count=F("downloads_count") + 1)
    download = Download.objects.create(
        version=version, user=user if user is not None and user.is_authenticated else None
    )
    _count_download_day(version, download.created_at.astimezone(UTC).date())
    return download


def _count_download_day(version: Version, day) -> None:
    days = DownloadDay.objects.filter(version=version, day=day)
    if days.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            DownloadDay.objects.create(item_id=version.item_id, version=version, day=day, count=1)
    except IntegrityError:  # another request created the day's row meanwhile
        days.update(count=F("count") + 1)


# --- Texts ---------------------------------------------------------------------------------


def render_missing_html() -> tuple[int, int]:
    """Render and store the HTML of every text saved without it (rows written in bulk, as the
    importer does). Answers (HTML fields filled, of which with plain text because the text
    cannot be rendered)."""
    filled = plain = 0
    for model in (Item, Version, Review):
        done, shown_plain = fill_missing_html(model, model.RENDERED)
        filled += done
        plain += shown_plain
    return filled, plain
