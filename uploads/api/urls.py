from django.urls import path

from uploads.api import views as api

app_name = "uploads"

urlpatterns = [
    path("", api.UploadsApi.as_view(), name="uploads"),
    path("purposes/", api.PurposesApi.as_view(), name="purposes"),
    path("<uuid:pk>/", api.UploadDetailApi.as_view(), name="detail"),
    path("<uuid:pk>/parts/", api.UploadPartsApi.as_view(), name="parts"),
    path("<uuid:pk>/progress/", api.UploadProgressApi.as_view(), name="progress"),
    path("<uuid:pk>/complete/", api.UploadCompleteApi.as_view(), name="complete"),
]
