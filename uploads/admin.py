from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from uploads.core import purposes
from uploads.core.models import Upload, UploadPart
from uploads.reports.figures import upload_report


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
    change_list_template = "admin/uploads/upload/change_list.html"

    def get_urls(self):
        report = path(
            "report/", self.admin_site.admin_view(self.report_view), name="uploads_upload_report"
        )
        return [report, *super().get_urls()]

    def report_view(self, request):
        """Upload figures for the operators: ``?days=N&purpose=P``."""
        try:
            days = max(1, min(int(request.GET.get("days", 7)), 3650))
        except ValueError:
            days = 7
        names = [purpose.name for purpose in purposes.all_purposes()]
        purpose = request.GET.get("purpose") if request.GET.get("purpose") in names else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upload report",
            "report": upload_report(days=days, purpose=purpose),
            "days": days,
            "purpose": purpose or "",
            "purposes": names,
        }
        return TemplateResponse(request, "admin/uploads/upload/report.html", context)
