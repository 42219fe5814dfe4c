from django.urls import path

from bench.oldway import views
from s7.urls import urlpatterns as s7_urlpatterns

urlpatterns = [path("bench/oldway/upload/", views.upload), *s7_urlpatterns]
