"""With SENTRY_DSN set, an exception in a view and one in a Celery task reach the error tracker.

Sentry itself is out of reach here: its place is taken by a stand-in that speaks its ingestion
protocol (tests/fixtures/sentry_standin.py). The web server (gunicorn with the production
config) and the worker are real processes started with SENTRY_DSN pointing at it.
"""

import uuid

import pytest
import requests

from celery_worker import app
from tests.fixtures.failing_urls import FAILURE_MESSAGE
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
