"""/healthz: what Heroku and uptime checks ask, answered without signing in."""

import pytest
from django.test import Client

from uploads.storage.local import free_port

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_database_cache_and_storage_answer():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "unreachable": [],
        "checks": {"database": "ok", "cache": "ok", "storage": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_naming_storage_when_s3_is_unreachable(settings):
    # A port nothing listens on: S3 refuses the connection, as a stopped S3 does.
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["unreachable"] == ["storage"]
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "storage": "unreachable"}
    # Nothing of the configuration leaks to an anonymous caller.
    assert "127.0.0.1" not in response.content.decode()


def test_it_answers_503_naming_the_cache_when_redis_is_unreachable(settings):
    port = free_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["unreachable"] == ["cache"]
    assert str(port) not in response.content.decode()


def test_it_refuses_anything_but_get():
    assert Client().post("/healthz").status_code == 405
