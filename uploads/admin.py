from django.contrib import admin

from uploads.models import Upload, UploadPart


class UploadPartInline(admin.TabularInline):
    model = UploadPart
    extra = 0
    readonly_fields = ["part_number", "checksum_sha256", "content_md5", "signed_at"]
    can_delete = False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["filename", "owner", "purpose", "size", "state", "created_at"]
    list_filter = ["state", "purpose"]
    search_fields = ["filename", "key", "owner__username"]
    readonly_fields = [field.name for field in Upload._meta.fields]
    inlines = [UploadPartInline]
