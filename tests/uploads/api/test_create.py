"""Creating an upload through the API, and finding an open one to resume."""

import pytest
from django.test import override_settings

from tests.fixtures.uploading import TWO_PARTS, MiB, s3_open_upload_ids, start_upload
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db


def test_it_creates_an_upload_with_a_server_chosen_key_and_plan(alice_api):
    upload = start_upload(alice_api, TWO_PARTS, filename="../../Évil name?.ZIP")
    assert upload["state"] == "uploading"
    assert upload["key"].startswith("uploads/version_file/")
    assert upload["key"].endswith("/Evil-name.ZIP")
    assert ".." not in upload["key"]
    assert (upload["part_size"], upload["part_count"]) == (8 * MiB, 2)
    assert upload["filename"] == "Évil name?.ZIP"
    assert Upload.objects.get(pk=upload["id"]).s3_upload_id in s3_open_upload_ids()


def test_a_name_longer_than_255_characters_is_shortened_keeping_its_extension(alice_api):
    upload = start_upload(alice_api, TWO_PARTS, filename="m" * 300 + ".zip")
    assert upload["filename"] == "m" * 251 + ".zip"


def test_the_client_cannot_choose_the_key(alice_api):
    response = alice_api.post(
        "/api/uploads/",
        {"filename": "a.zip", "size": 10, "purpose": "version_file", "key": "uploads/x/y"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["key"] != "uploads/x/y"


def test_a_distant_client_gets_larger_parts_planned_for_its_round_trip(alice_api):
    body = {"filename": "far.zip", "size": 1024 * MiB, "purpose": "version_file"}

    near = alice_api.post("/api/uploads/", body, format="json").json()
    far = alice_api.post("/api/uploads/", {**body, "round_trip_ms": 150}, format="json").json()

    assert (near["part_size"], near["part_count"]) == (8 * MiB, 128)
    assert (far["part_size"], far["part_count"]) == (86 * MiB, 12)


@pytest.mark.parametrize("round_trip_ms", [-1, 60_001, "far"])
def test_it_refuses_a_round_trip_that_is_not_one(alice_api, round_trip_ms):
    response = alice_api.post(
        "/api/uploads/",
        {"filename": "a.zip", "size": 10, "purpose": "version_file",
         "round_trip_ms": round_trip_ms},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert "round_trip_ms" in response.json()


@pytest.mark.parametrize(
    "body, status, words",
    [
        (
            {"filename": "a.zip", "size": 0, "purpose": "version_file"},
            400,
            "greater than or equal to 1",
        ),
        (
            {"filename": "a.zip", "size": -5, "purpose": "version_file"},
            400,
            "greater than or equal",
        ),
        ({"filename": "a.zip", "size": "big", "purpose": "version_file"}, 400, "valid integer"),
        (
            {"filename": "a.zip", "size": 10**20, "purpose": "version_file"},
            400,
            "less than or equal",
        ),
        ({"filename": "a.zip", "size": 10, "purpose": "bogus"}, 400, "Unknown purpose"),
        ({"filename": "a.exe", "size": 10, "purpose": "version_file"}, 400, "not accepted"),
        ({"filename": "shot.svg", "size": 10, "purpose": "screenshot"}, 400, "not accepted"),
        ({"filename": "", "size": 10, "purpose": "version_file"}, 400, "blank"),
        ({"filename": "maps/..", "size": 10, "purpose": "version_file"}, 400, "needs a name"),
        ({"filename": "a.zip", "purpose": "version_file"}, 400, "required"),
        ({"filename": "big.png", "size": 21 * MiB, "purpose": "screenshot"}, 413, "at most"),
        (
            {"filename": "x.png", "size": 10, "content_type": "text/html", "purpose": "screenshot"},
            400,
            "Content type",
        ),
    ],
)
def test_it_rejects_bad_input_with_a_clear_error(alice_api, body, status, words):
    before = s3_open_upload_ids()
    response = alice_api.post("/api/uploads/", body, format="json")
    assert response.status_code == status
    assert words in response.content.decode()
    assert s3_open_upload_ids() == before  # nothing orphaned on S3
    assert not Upload.objects.exists()


def test_it_rejects_malformed_json(alice_api):
    response = alice_api.post("/api/uploads/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_it_limits_how_many_uploads_are_open_at_once(alice_api):
    with override_settings(UPLOADS_MAX_OPEN_PER_USER=2):
        start_upload(alice_api, TWO_PARTS)
        start_upload(alice_api, TWO_PARTS)
        response = alice_api.post(
            "/api/uploads/",
            {"filename": "c.zip", "size": 10, "purpose": "version_file"},
            format="json",
        )
    assert response.status_code == 429
    assert "unfinished uploads" in response.json()["detail"]


def test_it_throttles_creation_with_retry_after(alice_api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    from tests.fixtures.counts import forget_this_runs_counts

    # DRF reads the rates once, at import; a tighter rate is set on the class for this test only.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"upload_create": "2/min"})
    forget_this_runs_counts()
    statuses = [
        alice_api.post(
            "/api/uploads/",
            {"filename": "a.zip", "size": 10, "purpose": "version_file"},
            format="json",
        )
        for _ in range(3)
    ]
    forget_this_runs_counts()
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert int(statuses[2]["Retry-After"]) > 0


def test_it_finds_an_open_upload_to_resume(alice_api):
    upload = start_upload(alice_api, TWO_PARTS, filename="resume.zip")
    start_upload(alice_api, b"x" * 10, filename="other.zip")
    found = alice_api.get(
        "/api/uploads/", {"state": "uploading", "filename": "resume.zip", "size": len(TWO_PARTS)}
    ).json()
    assert [u["id"] for u in found] == [upload["id"]]
