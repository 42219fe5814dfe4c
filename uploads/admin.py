import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from uploads.core import purposes
from uploads.core.models import Upload, UploadAnalytics, UploadPart
from uploads.reports import analytics
from uploads.reports.charts import svg
from uploads.reports.figures import upload_report
from uploads.reports.forms import WindowForm


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

    def may_see_analytics(self, request) -> bool:
        """The report shows every user's uploads, as the analytics page does: it takes that
        page's permission, not only staff status."""
        return self.admin_site.get_model_admin(UploadAnalytics).has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "may_see_analytics": self.may_see_analytics(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def report_view(self, request):
        """Upload figures for the operators: ``?days=N&purpose=P``."""
        if not self.may_see_analytics(request):
            raise PermissionDenied
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


@admin.register(UploadAnalytics)
class UploadAnalyticsAdmin(admin.ModelAdmin):
    """The analytics page, in the place of a change list: read-only, one URL."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.changelist_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", view, name=name)]

    def changelist_view(self, request, extra_context=None):
        """Charts of how uploads (and whatever else a project adds) went over a window of days;
        ``?csv=<figure>`` answers one figure's numbers as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = WindowForm(request.GET)
        window = form.chosen_window() if form.is_valid() else None
        slug = request.GET.get("csv")
        if slug:
            if window is None:
                return HttpResponse(
                    " ".join(form.non_field_errors()) or "Choose a valid window.",
                    status=400,
                    content_type="text/plain; charset=utf-8",
                )
            figure = analytics.find_figure(window, slug)
            if figure is None:
                raise Http404("No such figure.")
            return _csv_response(figure, window)
        sections = analytics.sections(window) if window else []
        context = {
            **self.admin_site.each_context(request),
            "opts": Upload._meta,
            "title": "Upload analytics",
            "form": form,
            "window": window,
            "query": form.data.urlencode(),
            "sections": [
                (section, [(figure, svg(figure)) for figure in section.figures])
                for section in sections
            ],
        }
        return TemplateResponse(
            request,
            "admin/uploads/uploadanalytics/analytics.html",
            context,
            status=200 if window else 400,
        )


def _csv_response(figure: analytics.Figure, window: analytics.Window) -> HttpResponse:
    name = f"{figure.slug}_{window.first_day}_{window.last_day}"
    if window.purpose:
        name += f"_{window.purpose}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(figure.columns)
    for row in figure.rows:
        writer.writerow(spreadsheet_cell(value) for value in row)
    return response


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """A CSV cell that a spreadsheet shows as written: text that would start a formula (an
    upload named ``=HYPERLINK(…)``) is led by an apostrophe, which spreadsheets take as "this
    is text" and do not show. Numbers stay numbers, a missing value an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
