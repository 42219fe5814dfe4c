from django.urls import path

from bench.oldway import views
from bench.stockuppy import views as stock
from s7.urls import urlpatterns as s7_urlpatterns

urlpatterns = [
    path("bench/oldway/upload/", views.upload),
    path("bench/stock/", stock.page),
    path("bench/stock/uploader.js", stock.bundle),
    path("bench/stock/create/", stock.create),
    path("bench/stock/sign/", stock.sign),
    path("bench/stock/complete/", stock.complete),
    path("bench/stock/abort/", stock.abort),
    *s7_urlpatterns,
]
