from django.urls import path

from uploads.api import lifecycle, rules, signing, tracking

app_name = "uploads"

urlpatterns = [
    path("", lifecycle.UploadsApi.as_view(), name="uploads"),
    path("purposes/", rules.PurposesApi.as_view(), name="purposes"),
    path("<uuid:pk>/", lifecycle.UploadDetailApi.as_view(), name="detail"),
    path("<uuid:pk>/parts/", signing.UploadPartsApi.as_view(), name="parts"),
    path("<uuid:pk>/progress/", tracking.UploadProgressApi.as_view(), name="progress"),
    path("<uuid:pk>/complete/", lifecycle.UploadCompleteApi.as_view(), name="complete"),
]
