"""One JSON log line per transition of an upload, for the people who run the site."""

import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from tests.fixtures.uploading import start_upload

pytestmark = pytest.mark.django_db


def test_every_transition_logs_one_json_line(alice_api, alice, caplog):
    caplog.set_level(logging.INFO, logger="uploads.transitions")
    upload = start_upload(alice_api, b"PK\x03\x04" + bytes(1000))

    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204

    # Each record as the site's JSON formatter writes it: its fields beside the message.
    lines = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "uploads.transitions"
    ]
    assert {line["event"] for line in lines} == {"upload_transition"}
    assert [(line["from"], line["to"]) for line in lines] == [
        (None, "uploading"),
        ("uploading", "aborted"),
    ]
    aborted = lines[1]
    assert aborted["upload"] == upload["id"]
    assert (aborted["user"], aborted["purpose"], aborted["size"]) == (
        alice.pk,
        "version_file",
        1004,
    )
    # Created and aborted by two requests: at least a millisecond apart, far less than a minute.
    assert 0 < aborted["duration"] < 60
