from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models

from items import counts, services
from items.models import Download, Item, Review, Screenshot, Tag, User, Version


@admin.register(User)
class S7UserAdmin(UserAdmin):
    list_display = ["username", "email", "items_count", "reviews_count", "is_staff", "date_joined"]
    readonly_fields = ["items_count", "reviews_count"]
    fieldsets = UserAdmin.fieldsets + (
        ("Simplici7y", {"fields": ["items_count", "reviews_count"]}),
    )


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "permalink", "items_count"]
    search_fields = ["name", "permalink"]
    readonly_fields = ["items_count"]


# Links are https unless written otherwise (Django 6's default; silences its deprecation warning).
HTTPS_LINKS = {models.URLField: {"assume_scheme": "https"}}


class VersionInline(admin.TabularInline):
    model = Version
    formfield_overrides = HTTPS_LINKS
    extra = 0
    fields = ["name", "file", "link", "downloads_count", "created_at"]
    readonly_fields = ["downloads_count"]
    raw_id_fields = ["file"]


class ScreenshotInline(admin.TabularInline):
    model = Screenshot
    extra = 0
    fields = ["title", "order", "upload"]
    raw_id_fields = ["upload"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "permalink",
        "owner",
        "downloads_count",
        "reviews_count",
        "rating_weighted",
        "version_created_at",
    ]
    search_fields = ["name", "permalink", "byline", "owner__username"]
    list_filter = ["tags"]
    raw_id_fields = ["owner", "tc"]
    filter_horizontal = ["tags"]
    readonly_fields = [
        "downloads_count", "reviews_count", "screenshots_count", "rating_average", "rating_weighted",
        "version_created_at", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [VersionInline, ScreenshotInline]

    def delete_model(self, request, obj):
        services.item_delete(item=obj)

    def delete_queryset(self, request, queryset):
        for item in queryset:
            services.item_delete(item=item)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        counts.item_recount(form.instance.pk)
        counts.user_recount(form.instance.owner_id)
        counts.tags_recount(Tag.objects.values_list("pk", flat=True))


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    formfield_overrides = HTTPS_LINKS
    list_display = ["__str__", "item", "downloads_count", "created_at"]
    search_fields = ["name", "item__name"]
    raw_id_fields = ["item", "file"]
    readonly_fields = ["downloads_count"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "version", "rating", "created_at"]
    search_fields = ["title", "body", "user__username", "version__item__name"]
    list_filter = ["rating"]
    raw_id_fields = ["version", "user"]

    def delete_model(self, request, obj):
        services.review_delete(review=obj)

    def delete_queryset(self, request, queryset):
        for review in queryset:
            services.review_delete(review=review)


@admin.register(Screenshot)
class ScreenshotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "item", "order", "created_at"]
    raw_id_fields = ["item", "upload"]


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ["version", "user", "created_at"]
    raw_id_fields = ["version", "user"]
    date_hierarchy = "created_at"
