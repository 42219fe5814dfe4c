from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from s7.health import healthz
from s7.views import not_found

handler404 = not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/uploads/", include("uploads.api.urls")),
    path("uploads/", include("uploads.pages.urls")),
    path("", include("items.urls")),
]
