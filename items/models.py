"""Simplici7y's domain: people publish items (maps, scenarios, plugins…) in versions, with
screenshots, and others download and review them.

Counts (an item's downloads, reviews and screenshots; a user's items and reviews; a tag's items)
are columns kept up to date by ``items.counts``, so that lists sort on them without joins.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe

from items.markup import excerpt, render_or_plain, render_plain, validate_markdown

# Paths under /items/ that are pages, not items.
RESERVED_PERMALINKS = frozenset({"new", "list", "search"})

# The longest texts a form takes, in characters. The importer keeps the live site's longer
# texts whole and lists them in its report.
ITEM_BODY_MAX_LENGTH = 16_000
ITEM_TOPNOTE_MAX_LENGTH = 1_000
VERSION_NOTES_MAX_LENGTH = 8_000
REVIEW_BODY_MAX_LENGTH = 8_000
# What the list of reviews shows of each.
REVIEW_EXCERPT_WORDS = 60


def markdown_field(max_length: int, help_text: str) -> models.TextField:
    # A TextField's max_length reaches forms and the API but is not checked on the model
    # (nor in the database): the validator checks it there.
    return models.TextField(
        blank=True,
        max_length=max_length,
        validators=[MaxLengthValidator(max_length), validate_markdown],
        help_text=help_text,
    )


def rendered_field() -> models.TextField:
    # NULL until rendered: ``render_missing_html`` finds the rows written without it (the
    # importer's).
    return models.TextField(null=True, blank=True, editable=False)


class RenderedMarkdown(models.Model):
    """A model whose Markdown texts keep their sanitized HTML beside them, rendered when the
    text is saved. ``RENDERED``: HTML field → (text field, words): the whole text when words is
    None, else an excerpt of its first words (what lists show)."""

    RENDERED: dict[str, tuple[str, int | None]] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        rendered = {}
        for target, (source, words) in self.RENDERED.items():
            if update_fields is None or source in update_fields:
                if source not in rendered:
                    rendered[source] = render_or_plain(getattr(self, source))
                setattr(self, target, str(excerpt(rendered[source], words)))
                if update_fields is not None:
                    update_fields = kwargs["update_fields"] = {*update_fields, target}
        super().save(*args, **kwargs)

    def html_of(self, target: str) -> SafeString:
        """What a page shows: the stored HTML, or, in the moment between an import's rows and
        their rendering, the text as plain paragraphs."""
        html = getattr(self, target)
        if html is not None:
            return mark_safe(html)  # noqa: S308 (sanitized when stored)
        source, words = self.RENDERED[target]
        return excerpt(render_plain(getattr(self, source)), words)


class User(AbstractUser):
    """Simplici7y's user; custom from the first migration so it never has to be swapped."""

    items_count = models.PositiveIntegerField(default=0)
    reviews_count = models.PositiveIntegerField(default=0)

    def get_absolute_url(self):
        return reverse("user", args=[self.username])


class Tag(models.Model):
    # The live site allowed 255 characters; S7 keeps every value it imports whole.
    name = models.CharField(max_length=255, unique=True)
    permalink = models.SlugField(max_length=255, unique=True)
    items_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("tag", args=[self.permalink])


class Item(RenderedMarkdown):
    RENDERED = {"body_html": ("body", None)}

    name = models.CharField(max_length=255)
    byline = models.CharField(max_length=255, blank=True, help_text="One line under the name.")
    # Text, as on the live site, whose notes can be longer than a line.
    topnote = models.TextField(
        blank=True,
        max_length=ITEM_TOPNOTE_MAX_LENGTH,
        validators=[MaxLengthValidator(ITEM_TOPNOTE_MAX_LENGTH)],
        help_text="A short note shown above the description.",
    )
    body = markdown_field(ITEM_BODY_MAX_LENGTH, "Markdown.")
    body_html = rendered_field()
    tc = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tc_items",
        verbose_name="total conversion",
        help_text="The scenario this item is made for, if any.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="items"
    )
    permalink = models.SlugField(max_length=255, unique=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")

    downloads_count = models.PositiveIntegerField(default=0)
    reviews_count = models.PositiveIntegerField(default=0)
    screenshots_count = models.PositiveIntegerField(default=0)
    rating_average = models.FloatField(default=0)
    rating_weighted = models.FloatField(default=0)
    version_created_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [models.F("version_created_at").desc(nulls_last=True), "-created_at"]
        indexes = [
            models.Index(fields=["-version_created_at"]),
            models.Index(fields=["-downloads_count"]),
            models.Index(fields=["-rating_weighted"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("item", args=[self.permalink])

    def editable_by(self, user) -> bool:
        return user.is_authenticated and (user.pk == self.owner_id or user.is_staff)

    @property
    def body_shown(self) -> SafeString:
        return self.html_of("body_html")


class Version(RenderedMarkdown):
    RENDERED = {"notes_html": ("notes", None)}

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=255, help_text="For example 1.0 or 2024-05-01.")
    notes = markdown_field(VERSION_NOTES_MAX_LENGTH, "Markdown: what changed.")
    notes_html = rendered_field()
    # A version is either a file the site serves or a link elsewhere, never both. The file
    # cannot be deleted while the version holds it, except together with the version (its
    # item or owner deleted); the version's deletion then deletes the file (items.receivers).
    file = models.OneToOneField(
        "uploads.Upload", null=True, blank=True, on_delete=models.RESTRICT, related_name="version"
    )
    link = models.URLField(max_length=500, blank=True)
    downloads_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(file__isnull=False) & Q(link=""))
                | (Q(file__isnull=True) & ~Q(link="")),
                name="version_has_a_file_or_a_link",
            )
        ]

    def __str__(self):
        return f"{self.item} {self.name}"

    def get_absolute_url(self):
        return f"{self.item.get_absolute_url()}#version-{self.pk}"

    def download_url(self):
        return reverse("download", args=[self.item.permalink]) + f"?version={self.pk}"

    @property
    def is_ready(self) -> bool:
        return bool(self.link) or (self.file is not None and self.file.state == "ready")

    @property
    def notes_shown(self) -> SafeString:
        return self.html_of("notes_html")


class Review(RenderedMarkdown):
    RENDERED = {"body_html": ("body", None), "body_excerpt_html": ("body", REVIEW_EXCERPT_WORDS)}

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    title = models.CharField(max_length=255)
    body = markdown_field(REVIEW_BODY_MAX_LENGTH, "Markdown.")
    body_html = rendered_field()
    body_excerpt_html = rendered_field()
    rating = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user"], name="one_review_per_user_per_version"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="rating_is_1_to_5"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("review", args=[self.version.item.permalink, self.pk])

    def editable_by(self, user) -> bool:
        return user.is_authenticated and (user.pk == self.user_id or user.is_staff)

    @property
    def body_shown(self) -> SafeString:
        return self.html_of("body_html")

    @property
    def excerpt_shown(self) -> SafeString:
        return self.html_of("body_excerpt_html")


class Screenshot(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="screenshots")
    title = models.CharField(max_length=255, blank=True)
    order = models.PositiveIntegerField(default=0)
    upload = models.OneToOneField(
        "uploads.Upload", on_delete=models.RESTRICT, related_name="screenshot"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title or self.upload.filename

    def rendition(self, name: str) -> dict | None:
        """``{"key", "width", "height", "url"}`` once the worker has made it, else None."""
        found = self.upload.rendition(name)
        return {**found, "url": self.upload.rendition_url(name)} if found else None

    @cached_property
    def thumb(self):
        return self.rendition("thumb")

    @cached_property
    def content(self):
        return self.rendition("content")


class Download(models.Model):
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="downloads",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.version} at {self.created_at:%Y-%m-%d %H:%M}"


class DownloadDay(models.Model):
    """Downloads per version per day (UTC): what windows ("this week") and charts read, so that
    no page scans the download rows. Kept by ``services.download_record`` as each download is
    counted, and rebuilt from the rows by ``items.counts.download_days_rebuild``."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="download_days")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="download_days")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "day"], name="one_count_per_version_per_day")
        ]
        indexes = [models.Index(fields=["item", "day"]), models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.version} on {self.day}: {self.count}"
