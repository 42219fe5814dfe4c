"""The site's read-only REST API: items, versions, downloads, reviews, screenshots and tags.

Public like the pages it mirrors, so each viewset overrides the project's default of
IsAuthenticated (which the upload API keeps).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny

from items import limits
from items.models import Download, Item, Review, Screenshot, Tag, Version
from uploads.api.throttling import UploadThrottle


class AbsoluteUrlField(serializers.URLField):
    """A path of the site's, answered as an absolute URL (scheme and host of the request)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        request = self.context.get("request")
        return request.build_absolute_uri(value) if request is not None else value


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "permalink", "items_count"]


class ItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="permalink")
    tc = serializers.SlugRelatedField(read_only=True, slug_field="permalink", allow_null=True)
    url = AbsoluteUrlField(source="get_absolute_url")

    class Meta:
        model = Item
        fields = [
            "id", "permalink", "name", "byline", "topnote", "body", "tc", "owner", "tags", "url",
            "downloads_count", "reviews_count", "screenshots_count", "rating_average",
            "rating_weighted", "version_created_at", "created_at", "updated_at",
        ]  # fmt: skip


class VersionSerializer(serializers.ModelSerializer):
    item = serializers.SlugRelatedField(read_only=True, slug_field="permalink")
    filename = serializers.SerializerMethodField()
    size = serializers.SerializerMethodField()
    sha256 = serializers.SerializerMethodField()
    ready = serializers.BooleanField(source="is_ready", read_only=True)
    download_url = AbsoluteUrlField()

    class Meta:
        model = Version
        fields = [
            "id", "item", "name", "notes", "link", "filename", "size", "sha256", "ready",
            "download_url", "downloads_count", "created_at",
        ]  # fmt: skip

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_filename(self, version):
        return version.file.filename if version.file else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_size(self, version):
        return version.file.size if version.file else None

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="The file's SHA-256 (hex); null for a link, and while the file is being "
            "verified or, once it is ready, its SHA-256 computed.",
        )
    )
    def get_sha256(self, version):
        return (version.file.sha256 or None) if version.file else None


class DownloadSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="version.item.permalink", read_only=True)

    class Meta:
        model = Download
        # Who downloaded is not published.
        fields = ["id", "version", "item", "created_at"]


class ReviewSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    item = serializers.CharField(source="version.item.permalink", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "item", "version", "user", "title", "body", "rating", "created_at"]


class RenditionSerializer(serializers.Serializer):
    url = serializers.URLField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ScreenshotSerializer(serializers.ModelSerializer):
    item = serializers.SlugRelatedField(read_only=True, slug_field="permalink")
    thumb = serializers.SerializerMethodField()
    content = serializers.SerializerMethodField()

    class Meta:
        model = Screenshot
        fields = ["id", "item", "title", "order", "thumb", "content", "created_at"]

    @extend_schema_field(RenditionSerializer(allow_null=True))
    def get_thumb(self, shot):
        return _rendition(shot.thumb)

    @extend_schema_field(RenditionSerializer(allow_null=True))
    def get_content(self, shot):
        return _rendition(shot.content)


def _rendition(found):
    return {key: found[key] for key in ("url", "width", "height")} if found else None


class PublicReadThrottle(UploadThrottle):
    """The upload API's throttle (one Redis round trip), counting an anonymous caller by the
    address the site trusts (``TRUSTED_PROXY_COUNT``): DRF's own reading of X-Forwarded-For
    would let a caller name a new address with every request."""

    def get_ident(self, request):
        return limits.client_address(request)


class PublicReadOnly(viewsets.ReadOnlyModelViewSet):
    """Lists are paged by cursor (``s7.pagination``), newest first unless ``cursor_ordering``
    says otherwise; its columns must be unique, so that a cursor names one row."""

    permission_classes = [AllowAny]
    throttle_classes = [PublicReadThrottle]
    throttle_scope = "public_read"


class ItemViewSet(PublicReadOnly):
    queryset = Item.objects.select_related("owner", "tc").prefetch_related("tags").order_by("-pk")
    serializer_class = ItemSerializer


class VersionViewSet(PublicReadOnly):
    queryset = Version.objects.select_related("item", "file").order_by("-pk")
    serializer_class = VersionSerializer


class DownloadViewSet(PublicReadOnly):
    queryset = Download.objects.select_related("version__item").order_by("-pk")
    serializer_class = DownloadSerializer


class ReviewViewSet(PublicReadOnly):
    queryset = Review.objects.select_related("user", "version__item").order_by("-pk")
    serializer_class = ReviewSerializer


class ScreenshotViewSet(PublicReadOnly):
    queryset = Screenshot.objects.select_related("item", "upload").order_by("-pk")
    serializer_class = ScreenshotSerializer


class TagViewSet(PublicReadOnly):
    queryset = Tag.objects.order_by("name")
    serializer_class = TagSerializer
    cursor_ordering = ("name",)
