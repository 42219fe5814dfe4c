"""The uploads app's pages (as opposed to its API): the uploader demo and rendition links."""

from django.urls import path

from uploads.pages import views

app_name = "upload-pages"

urlpatterns = [
    path("demo/", views.demo, name="demo"),
    path("<uuid:pk>/renditions/<slug:name>/", views.rendition, name="rendition"),
]
