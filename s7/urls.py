from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from items.logins import limit_password_checks, typed_username
from s7.health import healthz
from s7.views import not_found

handler404 = not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The admin's log-in checks passwords: the same limit on failures as the site's.
    path("admin/login/", limit_password_checks(typed_username)(admin.site.login)),
    path("admin/", admin.site.urls),
    # The live site's admin lived at /terminal/; its bookmarks lead to the same pages here.
    re_path(
        r"^terminal/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/%(rest)s", permanent=True, query_string=True),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/uploads/", include("uploads.api.urls")),
    path("uploads/", include("uploads.pages.urls")),
    path("", include("items.urls")),
]
