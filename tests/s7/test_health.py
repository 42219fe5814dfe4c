"""/healthz: what Heroku and uptime checks ask, answered without signing in."""

import threading
import time

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test import Client

from devtools.seaweedfs import free_port
from s7 import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_checks():
    """Each test starts with nothing remembered, as a process does."""
    health.recent_checks.forget()
    yield
    health.recent_checks.forget()


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


def test_it_answers_from_a_result_at_most_max_age_old(settings):
    settings.HEALTHZ_MAX_AGE = 2
    assert Client().get("/healthz").status_code == 200
    checked = time.monotonic()
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # S3 stops answering

    # Within the age the remembered result answers: S3 is not asked.
    response = Client().get("/healthz")
    assert time.monotonic() - checked < 2, "too slow a machine to see the remembered result"
    assert response.status_code == 200

    time.sleep(max(0.0, 2.05 - (time.monotonic() - checked)))
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["unreachable"] == ["storage"]


def test_a_burst_of_requests_asks_s3_once(monkeypatch):
    asked = []
    real_check = health.CHECKS["storage"]

    def counted_check():  # the real check, counted
        asked.append(threading.get_ident())
        real_check()

    monkeypatch.setitem(health.CHECKS, "storage", counted_check)
    answers = []

    def ask():
        try:
            answers.append(Client().get("/healthz").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200] * 12
    assert len(asked) == 1


def test_it_is_throttled_per_address(settings):
    # An hour's window: the test never straddles two windows.
    settings.HEALTHZ_RATE = "3/hour"
    prober = Client(REMOTE_ADDR="203.0.113.9")

    assert [prober.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    refused = prober.get("/healthz")

    assert refused.status_code == 429
    assert refused.json()["status"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Client(REMOTE_ADDR="203.0.113.10").get("/healthz").status_code == 200


def test_a_rate_that_cannot_be_read_stops_start_up(settings):
    settings.HEALTHZ_RATE = "often"

    errors = [error.msg for error in run_checks() if error.id == "items.E001"]

    assert errors == ["HEALTHZ_RATE: A rate reads like 10/min or 20/15min, not 'often'."]
