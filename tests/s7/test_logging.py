"""Logs are JSON lines; those written while serving a request, and by the tasks it enqueued,
carry its X-Request-ID (Heroku's router sets one on every request)."""

import io
import json
import logging
import time

import pytest
import requests
from django.test import Client
from pythonjsonlogger.json import JsonFormatter

from tests.fixtures.servers import WebServer
from tests.fixtures.site import api_for, zip_bytes
from tests.fixtures.uploading import send_all_parts, start_upload, wait_for_state
from tests.fixtures.worker import log_events

HEROKU_ID = "5c3b7a3e-2a4f-4a59-9d2b-7f1f0c8c1b11"


@pytest.fixture
def log_lines():
    """What the site's own console handler writes, line by line."""
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


@pytest.mark.django_db
def test_a_request_logs_json_lines_carrying_herokus_request_id(log_lines):
    response = Client().get("/no-such-page/", HTTP_X_REQUEST_ID=HEROKU_ID)
    assert response.status_code == 404
    assert response["X-Request-ID"] == HEROKU_ID
    lines = log_lines()
    not_found = [line for line in lines if line["message"].startswith("Not Found")]
    assert not_found, lines
    assert not_found[0]["request_id"] == HEROKU_ID
    assert {"time", "level", "logger"} <= set(not_found[0])


@pytest.mark.django_db
def test_a_request_without_an_id_or_with_a_hostile_one_gets_a_fresh_one(log_lines):
    plain = Client().get("/no-such-page/")
    hostile = Client().get("/no-such-page/", HTTP_X_REQUEST_ID='x"}\n{"level": "forged"')
    for response in (plain, hostile):
        assert len(response["X-Request-ID"]) == 32
    assert plain["X-Request-ID"] != hostile["X-Request-ID"]
    assert "forged" not in json.dumps(log_lines())


def test_lines_outside_a_request_have_no_request_id(log_lines):
    logging.getLogger("s7").warning("outside")
    (line,) = [line for line in log_lines() if line["message"] == "outside"]
    assert "request_id" not in line


@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_json_lines_carrying_the_id_of_the_request_that_enqueued(
    celery_worker, alice
):
    api = api_for(alice)
    data = zip_bytes()
    upload = start_upload(api, data)
    send_all_parts(api, upload, data)
    response = api.post(
        f"/api/uploads/{upload['id']}/complete/", {}, format="json", HTTP_X_REQUEST_ID=HEROKU_ID
    )
    assert response.status_code == 202, response.content
    assert wait_for_state(upload["id"], {"ready", "failed"}).state == "ready"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        transitions = log_events(celery_worker.log_path, "upload_transition", upload["id"])
        if len(transitions) >= 2:
            break
        time.sleep(0.1)
    assert [(line["from"], line["to"]) for line in transitions] == [
        ("completing", "processing"),
        ("processing", "ready"),
    ]
    assert {line["request_id"] for line in transitions} == {HEROKU_ID}
    assert all(line["logger"] == "uploads.transitions" for line in transitions)


@pytest.mark.django_db(transaction=True)
def test_gunicorn_writes_json_lines_too_with_the_request_id_on_access_lines(tmp_path):
    server = WebServer(tmp_path / "web.log")
    try:
        response = requests.get(f"{server.url}/healthz", headers={"X-Request-ID": HEROKU_ID})
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while HEROKU_ID not in server.log and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(
        line["request_id"] == HEROKU_ID and line["request"].startswith("GET /healthz")
        for line in access
    ), access
    assert any(line["logger"] == "gunicorn.error" for line in lines)
