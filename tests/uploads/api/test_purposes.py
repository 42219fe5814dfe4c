"""The rules clients share, served once: states, stages, purposes and their limits."""

import pytest

from tests.fixtures.uploading import MiB
from uploads.api import services

pytestmark = pytest.mark.django_db


def test_it_serves_the_rules_clients_share_once(alice_api):
    rules = alice_api.get("/api/uploads/purposes/").json()

    assert rules["states"] == [
        "uploading",
        "completing",
        "processing",
        "ready",
        "failed",
        "aborted",
        "expired",
    ]
    assert rules["final_states"] == ["ready", "failed", "aborted", "expired"]
    assert set(rules["stages"]) == {
        "uploading",
        "completing",
        "verifying",
        "processing",
        "ready",
        "failed",
    }
    assert rules["max_parts"] == 10_000
    assert rules["max_parts_per_signing"] == services.MAX_PARTS_PER_SIGNING
    by_name = {p["name"]: p for p in rules["purposes"]}
    # A purpose words a stage its own way, and has words for every stage.
    assert by_name["screenshot"]["stages"]["processing"] == "Making thumbnails…"
    assert by_name["version_file"]["stages"] == rules["stages"]
    assert set(by_name["screenshot"]["stages"]) == set(rules["stages"])


def test_it_lists_the_purposes_limits(alice_api):
    purposes = {p["name"]: p for p in alice_api.get("/api/uploads/purposes/").json()["purposes"]}
    assert purposes["screenshot"]["max_size"] == 20 * MiB
    assert ".png" in purposes["screenshot"]["extensions"]
    assert ".zip" in purposes["version_file"]["extensions"]


def test_it_serves_the_clients_timings_from_the_settings(alice_api, settings):
    timings = alice_api.get("/api/uploads/purposes/").json()["timings"]
    assert timings == {
        "progress_report_interval": 15,
        "status_poll_delays": [0.1, 0.1, 0.1, 0.1, 0.15, 0.25, 0.5, 1, 2],
        "outage_recheck_delays": [1, 2, 4, 8, 15],
        "expiry_margin": 60,
    }

    settings.UPLOADS_PROGRESS_REPORT_INTERVAL = 30
    settings.UPLOADS_STATUS_POLL_DELAYS = [0.5, 3]
    timings = alice_api.get("/api/uploads/purposes/").json()["timings"]
    assert timings["progress_report_interval"] == 30
    assert timings["status_poll_delays"] == [0.5, 3]


def test_the_schema_documents_the_clients_timings(alice_api):
    schema = alice_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schemas = schema["components"]["schemas"]
    rules = schemas["RulesOutput"]
    assert "timings" in rules["required"]
    timings = schemas[rules["properties"]["timings"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert set(timings["properties"]) == {
        "progress_report_interval",
        "status_poll_delays",
        "outage_recheck_delays",
        "expiry_margin",
    }
    assert all("Seconds" in field["description"] for field in timings["properties"].values())
