"""With SENTRY_DSN set, an exception in a view and one in a Celery task reach the error tracker.

Sentry itself is out of reach here: its place is taken by a stand-in that speaks its ingestion
protocol (tests/fixtures/sentry_standin.py). The web server (gunicorn with the production
config) and the worker are real processes started with SENTRY_DSN pointing at it.
"""

import json
import uuid

import pytest
import requests

from celery_worker import app
from s7.tracking import SensitiveNameScrubber
from tests.fixtures.failing_urls import BODY_FAILURE_MESSAGE, FAILURE_MESSAGE
from tests.fixtures.sentry_standin import SentryStandIn, exception_values
from tests.fixtures.servers import WebServer
from tests.fixtures.worker import Worker
from tests.fixtures.worker_app import TASK_FAILURE_MESSAGE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sentry():
    standin = SentryStandIn()
    yield standin
    standin.close()


def test_an_exception_in_a_view_reaches_the_error_tracker(sentry, tmp_path):
    server = WebServer(
        tmp_path / "web.log",
        DJANGO_SETTINGS_MODULE="tests.fixtures.failing_site",
        SENTRY_DSN=sentry.dsn,
    )
    try:
        response = requests.get(f"{server.url}/fail/", timeout=10)
        assert response.status_code == 500
        event = sentry.wait_for_event(lambda e: FAILURE_MESSAGE in exception_values(e))
    finally:
        server.stop()
    assert event["request"]["url"].endswith("/fail/")
    assert event["platform"] == "python"
    assert "Cookie" not in event["request"].get("headers", {})  # no personal data sent
    assert not sentry.refused


def test_no_request_body_nor_password_like_field_reaches_the_error_tracker(sentry, tmp_path):
    secrets = {
        name: f"{name}-{uuid.uuid4().hex}"
        for name in ["password1", "new_password1", "old_password", "passphrase", "note", "query",
                     "header"]
    }  # fmt: skip
    form = {name: secrets[name] for name in ["password1", "new_password1", "old_password"]}
    form["note"] = secrets["note"]  # a field with an ordinary name: the body is not sent at all
    server = WebServer(
        tmp_path / "web.log",
        DJANGO_SETTINGS_MODULE="tests.fixtures.failing_site",
        SENTRY_DSN=sentry.dsn,
    )
    try:
        response = requests.post(
            f"{server.url}/fail-with-a-body/",
            params={"passphrase": secrets["passphrase"], "old_password": secrets["query"],
                    "page": "2"},
            data=form,
            headers={"X-Upload-Passphrase": secrets["header"], "X-Shown": "kept"},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 500
        event = sentry.wait_for_event(lambda e: BODY_FAILURE_MESSAGE in exception_values(e))
    finally:
        server.stop()
    sent = json.dumps(event)
    leaked = [name for name, secret in secrets.items() if secret in sent]
    assert leaked == []
    request = event["request"]
    assert not request.get("data")
    assert "page=2" in request["query_string"]  # the rest of the request is still there
    assert request["headers"]["X-Shown"] == "kept"
    assert request["url"].endswith("/fail-with-a-body/")
    assert not sentry.refused


def test_an_exception_in_a_task_reaches_the_error_tracker(sentry, tmp_path):
    worker = Worker(
        tmp_path / "worker.log", f"sentry-{uuid.uuid4().hex[:8]}", SENTRY_DSN=sentry.dsn
    )
    try:
        app.send_task("tests.fail", queue=worker.queue)
        event = sentry.wait_for_event(lambda e: TASK_FAILURE_MESSAGE in exception_values(e))
    finally:
        worker.stop()
    assert event["extra"]["celery-job"]["task_name"] == "tests.fail"
    assert not sentry.refused


def test_values_under_password_like_names_are_scrubbed_wherever_they_sit():
    event = {
        "extra": {"form": {"password1": "a", "new_password1": "b", "title": "Pfhor"}},
        "contexts": {"signup": {"passphrase": "c", "step": 2}},
        "breadcrumbs": {"values": [{"data": {"old_password": "d", "path": "/me/"}}]},
        "request": {"query_string": "next=%2Fme%2F&api_key=e", "headers": {"X-Token": "f"}},
    }

    SensitiveNameScrubber().scrub_event(event)

    sent = json.dumps(event, default=lambda value: "[Filtered]")
    assert not any(f'"{secret}"' in sent for secret in "abcdf") and "api_key=e" not in sent
    assert event["extra"]["form"]["title"] == "Pfhor" and event["contexts"]["signup"]["step"] == 2
    assert event["breadcrumbs"]["values"][0]["data"]["path"] == "/me/"
    assert event["request"]["query_string"].startswith("next=%2Fme%2F&api_key=")
