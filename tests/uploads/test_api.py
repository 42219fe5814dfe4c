"""The upload API against real Postgres, Redis and SeaweedFS."""

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
import requests
from django.test import Client, override_settings

from tests.fixtures.uploading import (
    b64_md5,
    b64_sha256,
    part_bytes,
    put_part,
    s3_open_upload_ids,
    send_all_parts,
    sign,
    start_upload,
)
from uploads.api import services
from uploads.core.models import Upload
from uploads.core.plan import MAX_S3_OBJECT_SIZE
from uploads.storage import s3
from uploads.storage.sigv4 import PartUrlSigner
from uploads.worker.completion import upload_finish_completion

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
TWO_PARTS = os.urandom(8 * MiB + 1234)  # version files are planned in 8 MiB parts


def complete(api, upload, body=None):
    return api.post(f"/api/uploads/{upload['id']}/complete/", body or {}, format="json")


# --- Creating ---------------------------------------------------------------------------------


def test_it_creates_an_upload_with_a_server_chosen_key_and_plan(alice_api):
    upload = start_upload(alice_api, TWO_PARTS, filename="../../Évil name?.ZIP")
    assert upload["state"] == "uploading"
    assert upload["key"].startswith("uploads/version_file/")
    assert upload["key"].endswith("/Evil-name.ZIP")
    assert ".." not in upload["key"]
    assert (upload["part_size"], upload["part_count"]) == (8 * MiB, 2)
    assert upload["filename"] == "Évil name?.ZIP"
    assert Upload.objects.get(pk=upload["id"]).s3_upload_id in s3_open_upload_ids()


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


def test_it_lists_the_purposes_limits(alice_api):
    purposes = {p["name"]: p for p in alice_api.get("/api/uploads/purposes/").json()["purposes"]}
    assert purposes["screenshot"]["max_size"] == 20 * MiB
    assert ".png" in purposes["screenshot"]["extensions"]
    assert ".zip" in purposes["version_file"]["extensions"]


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


# --- Signing and sending parts ----------------------------------------------------------------


def test_signed_urls_pin_each_parts_size_and_checksum(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [1, 2])
    assert signed[1]["size"] == 8 * MiB and signed[2]["size"] == 1234
    assert signed[2]["method"] == "PUT"
    assert signed[2]["headers"]["x-amz-checksum-sha256"] == b64_sha256(TWO_PARTS[8 * MiB :])
    assert "content-length" in signed[2]["url"].lower()


def test_s3_refuses_a_part_one_byte_short_or_long_then_takes_the_right_bytes(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [1, 2])
    second = part_bytes(upload, TWO_PARTS, 2)
    assert put_part(signed[2], second[:-1]).status_code == 403
    assert put_part(signed[2], second + b"!").status_code == 403
    assert put_part(signed[1], part_bytes(upload, TWO_PARTS, 1)).status_code == 200
    assert put_part(signed[2], second).status_code == 200
    assert complete(alice_api, upload).status_code == 202


def test_s3_refuses_bytes_that_do_not_match_the_signed_checksum(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [2])
    corrupted = bytearray(part_bytes(upload, TWO_PARTS, 2))
    corrupted[100] ^= 0xFF
    response = put_part(signed[2], bytes(corrupted))
    assert response.status_code == 400
    assert "BadDigest" in response.text or "Checksum" in response.text


def test_a_part_without_its_checksum_header_is_refused(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [2])
    response = requests.put(signed[2]["url"], data=part_bytes(upload, TWO_PARTS, 2), timeout=30)
    assert response.status_code == 403


def test_an_expired_url_is_refused_and_a_fresh_one_works(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    with override_settings(UPLOADS_PART_URL_EXPIRES=1):
        stale = sign(alice_api, upload, TWO_PARTS, [2])[2]
    time.sleep(2.1)
    body = part_bytes(upload, TWO_PARTS, 2)
    refused = put_part(stale, body)
    assert refused.status_code == 403
    assert "expired" in refused.text.lower()
    assert put_part(sign(alice_api, upload, TWO_PARTS, [2])[2], body).status_code == 200


@pytest.mark.parametrize(
    "parts, words",
    [
        ([{"part_number": 3, "checksum_sha256": b64_sha256(b"x")}], "outside this upload's plan"),
        ([{"part_number": 0, "checksum_sha256": b64_sha256(b"x")}], "greater than or equal to 1"),
        ([{"part_number": 1}], "required"),
        ([{"part_number": 1, "checksum_sha256": "not-base64!"}], "base64 of a 32-byte"),
        ([{"part_number": 1, "checksum_sha256": b64_md5(b"x")}], "base64 of a 32-byte"),
        (
            [{"part_number": 1, "checksum_sha256": b64_sha256(b"x"), "content_md5": "abc"}],
            "16-byte",
        ),
        ([{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}] * 2, "once per call"),
        ([], "empty"),
        (
            [{"part_number": n, "checksum_sha256": b64_sha256(b"x")} for n in range(1, 102)],
            "no more than 100",
        ),
        ("parts", "list"),
    ],
)
def test_it_rejects_bad_signing_requests(alice_api, parts, words):
    upload = start_upload(alice_api, TWO_PARTS)
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/parts/", {"parts": parts}, format="json"
    )
    assert response.status_code == 400
    assert words in response.content.decode()


# --- Completing -------------------------------------------------------------------------------


def test_complete_with_a_part_missing_answers_409_naming_it(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [1])
    assert put_part(signed[1], part_bytes(upload, TWO_PARTS, 1)).status_code == 200
    response = complete(alice_api, upload)
    assert response.status_code == 409
    assert response.json()["missing_parts"] == [2]
    assert "part 2 missing" in response.json()["detail"]
    assert Upload.objects.get(pk=upload["id"]).state == "uploading"


def test_complete_names_a_part_whose_content_is_not_what_was_last_signed(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    # Another file's part 2 is signed (as a resumed upload of a different file would) but never
    # sent: S3 still holds the old bytes, which must not be completed as the new content.
    other = os.urandom(1234)
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/parts/",
        {
            "parts": [
                {
                    "part_number": 2,
                    "checksum_sha256": b64_sha256(other),
                    "content_md5": b64_md5(other),
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    answer = complete(alice_api, upload)
    assert answer.status_code == 409
    assert answer.json()["mismatched_parts"] == [2]
    held = {
        p["part_number"]: p
        for p in alice_api.get(f"/api/uploads/{upload['id']}/").json()["uploaded_parts"]
    }
    assert held[1]["verified"] is True and held[2]["verified"] is False


def test_complete_checks_the_etags_the_client_saw(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    response = complete(alice_api, upload, {"parts": [{"part_number": 1, "etag": '"0123"'}]})
    assert response.status_code == 409
    assert response.json()["mismatched_parts"] == [1]


def test_complete_is_idempotent(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    first, second = complete(alice_api, upload), complete(alice_api, upload)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["state"] == second.json()["state"] == "completing"
    assert first.json()["completing_at"] == second.json()["completing_at"]


def test_the_detail_lists_the_parts_s3_holds_for_resume(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [2])
    put_part(signed[2], part_bytes(upload, TWO_PARTS, 2))
    detail = alice_api.get(f"/api/uploads/{upload['id']}/").json()
    assert detail["uploaded_parts"] == [
        {
            "part_number": 2,
            "size": 1234,
            "etag": hashlib.md5(TWO_PARTS[8 * MiB :]).hexdigest(),
            "checksum_sha256": b64_sha256(TWO_PARTS[8 * MiB :]),
            "verified": True,
        }
    ]


def test_it_finds_an_open_upload_to_resume(alice_api):
    upload = start_upload(alice_api, TWO_PARTS, filename="resume.zip")
    start_upload(alice_api, b"x" * 10, filename="other.zip")
    found = alice_api.get(
        "/api/uploads/", {"state": "uploading", "filename": "resume.zip", "size": len(TWO_PARTS)}
    ).json()
    assert [u["id"] for u in found] == [upload["id"]]


# --- Aborting ---------------------------------------------------------------------------------


def test_delete_aborts_the_multipart_upload_on_s3(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    s3_id = Upload.objects.get(pk=upload["id"]).s3_upload_id
    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204
    assert s3_id not in s3_open_upload_ids()
    assert Upload.objects.get(pk=upload["id"]).state == "aborted"
    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204  # idempotent


def test_completing_an_aborted_upload_is_a_conflict(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    alice_api.delete(f"/api/uploads/{upload['id']}/")
    response = complete(alice_api, upload)
    assert response.status_code == 409
    assert "aborted" in response.json()["detail"]


def test_signing_for_an_aborted_upload_is_a_conflict(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    alice_api.delete(f"/api/uploads/{upload['id']}/")
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/parts/",
        {"parts": [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}]},
        format="json",
    )
    assert response.status_code == 409


def test_a_completed_upload_cannot_be_aborted(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    complete(alice_api, upload)
    response = alice_api.delete(f"/api/uploads/{upload['id']}/")
    assert response.status_code == 409
    assert Upload.objects.get(pk=upload["id"]).s3_upload_id in s3_open_upload_ids()


# --- Progress ---------------------------------------------------------------------------------


def test_progress_is_reported_and_read_back(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    url = f"/api/uploads/{upload['id']}/progress/"
    assert alice_api.post(url, {"bytes_uploaded": 4 * MiB}, format="json").status_code == 204
    progress = alice_api.get(url).json()
    assert progress["bytes_uploaded"] == 4 * MiB
    assert progress["size"] == len(TWO_PARTS)
    assert progress["state"] == "uploading" and progress["stage"] == "uploading"
    assert progress["percent"] == round(100 * 4 * MiB / len(TWO_PARTS), 1)
    assert progress["updated_at"]


def test_progress_rejects_a_negative_count(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/progress/", {"bytes_uploaded": -1}, format="json"
    )
    assert response.status_code == 400


# --- Who may do what --------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/uploads/{id}/", None),
    ("delete", "/api/uploads/{id}/", None),
    (
        "post",
        "/api/uploads/{id}/parts/",
        {"parts": [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}]},
    ),
    ("get", "/api/uploads/{id}/progress/", None),
    ("post", "/api/uploads/{id}/progress/", {"bytes_uploaded": 1}),
    ("post", "/api/uploads/{id}/complete/", {}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_a_stranger_gets_404_on_every_endpoint(alice_api, charlie_api, method, path, body):
    upload = start_upload(alice_api, TWO_PARTS)
    response = getattr(charlie_api, method)(path.format(id=upload["id"]), body, format="json")
    assert response.status_code == 404
    assert Upload.objects.get(pk=upload["id"]).state == "uploading"


@pytest.mark.parametrize(
    "method, path, body",
    ENDPOINTS + [("post", "/api/uploads/", {}), ("get", "/api/uploads/", None)],
)
def test_anonymous_gets_401_on_every_endpoint(alice_api, anonymous_api, method, path, body):
    upload = start_upload(alice_api, TWO_PARTS)
    response = getattr(anonymous_api, method)(path.format(id=upload["id"]), body, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_the_owner_succeeds_on_every_endpoint(alice_api, method, path, body):
    upload = start_upload(alice_api, TWO_PARTS)
    response = getattr(alice_api, method)(path.format(id=upload["id"]), body, format="json")
    # Completing before sending parts is the owner's own conflict, not a refusal of access.
    assert response.status_code in (200, 204) or (
        path.endswith("complete/") and response.status_code == 409
    )


def test_a_stranger_does_not_see_the_owners_uploads_in_the_list(alice_api, charlie_api):
    start_upload(alice_api, TWO_PARTS)
    assert charlie_api.get("/api/uploads/").json() == []


def test_session_auth_requires_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(
        "/api/uploads/",
        {"filename": "a.zip", "size": 10, "purpose": "version_file"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_openapi_schema_is_served(alice_api):
    response = alice_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/uploads/{id}/complete/" in response.json()["paths"]


def test_a_part_sent_again_with_other_content_replaces_the_old_one(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    changed = TWO_PARTS[: 8 * MiB] + os.urandom(1234)
    signed = sign(alice_api, upload, changed, [2])
    assert put_part(signed[2], part_bytes(upload, changed, 2)).status_code == 200

    held = alice_api.get(f"/api/uploads/{upload['id']}/").json()["uploaded_parts"]
    assert [(p["part_number"], p["verified"]) for p in held] == [(1, True), (2, True)]
    assert complete(alice_api, upload).status_code == 202
    # The worker's half of completion, run here: it assembles the parts S3 holds.
    finished = upload_finish_completion(upload=Upload.objects.get(pk=upload["id"]))
    assert finished.state == "processing"
    stored = s3.client().get_object(Bucket=s3.bucket(), Key=upload["key"])["Body"].read()
    assert stored == changed


def test_part_urls_come_from_the_fast_signer_and_match_botocores(alice_api):
    upload = Upload.objects.get(pk=start_upload(alice_api, TWO_PARTS)["id"])
    assert isinstance(s3.part_signer(), PartUrlSigner)
    body = TWO_PARTS[8 * MiB :]
    now = datetime.now(UTC).replace(microsecond=0)
    fast = s3.part_signer().sign_upload_part(
        key=upload.key, upload_id=upload.s3_upload_id, part_number=2, content_length=len(body),
        checksum_sha256=b64_sha256(body), content_md5=b64_md5(body), expires_in=60, now=now,
    )  # fmt: skip
    # Only botocore's clock is frozen here, so that both URLs are signed for the same second.
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        reference = s3.botocore_part_url(
            key=upload.key, upload_id=upload.s3_upload_id, part_number=2, content_length=len(body),
            checksum_sha256=b64_sha256(body), content_md5=b64_md5(body), expires_in=60,
        )  # fmt: skip
    assert fast == reference
    headers = {"x-amz-checksum-sha256": b64_sha256(body), "Content-MD5": b64_md5(body)}
    assert requests.put(fast, data=body, headers=headers, timeout=30).status_code == 200


def test_completion_finishes_after_a_worker_died_between_s3_and_the_database(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    complete(alice_api, upload)
    upload_finish_completion(upload=Upload.objects.get(pk=upload["id"]))
    # As if the worker had died after CompleteMultipartUpload but before recording it.
    Upload.objects.filter(pk=upload["id"]).update(state="completing")

    again = upload_finish_completion(upload=Upload.objects.get(pk=upload["id"]))

    assert again.state == "processing"
    assert s3.head_object(upload["key"])["ContentLength"] == len(TWO_PARTS)


def test_listing_parts_finds_every_part_across_pages_including_part_10000(alice_api):
    # SeaweedFS lists part 10,000 between 999 and 1,000 (it sorts by file name); a page that
    # ends on it must not make the next page skip 1,000-9,999. Tiny parts keep this test fast.
    key = f"uploads/version_file/{uuid.uuid4()}/many.bin"
    upload_id = s3.create_multipart_upload(
        key=key, content_type="application/octet-stream", filename="many.bin"
    )
    numbers = [*range(1, 10), *range(995, 1005), 9999, 10000]
    for n in numbers:
        body = b"%d" % n
        signed = s3.sign_part(
            key=key,
            upload_id=upload_id,
            part_number=n,
            size=len(body),
            checksum_sha256=b64_sha256(body),
        )
        assert (
            requests.put(signed.url, data=body, headers=signed.headers, timeout=30).status_code
            == 200
        )
    try:
        for page_size in (5, 7, 1000):
            listed = s3.list_parts(key=key, upload_id=upload_id, page_size=page_size)
            assert [part.part_number for part in listed] == sorted(numbers), page_size
            # Pages asked for at once, one chain per page_size part numbers: some chains find
            # nothing of their own, some run past their end into the next one's numbers.
            listed = s3.list_parts(
                key=key, upload_id=upload_id, page_size=page_size, expected_parts=10_000
            )
            assert [part.part_number for part in listed] == sorted(numbers), page_size
    finally:
        s3.abort_multipart_upload(key=key, upload_id=upload_id)


def test_listing_parts_reads_each_parts_size_and_etag_and_names_an_unknown_upload(alice_api):
    key = f"uploads/version_file/{uuid.uuid4()}/two.bin"
    upload_id = s3.create_multipart_upload(
        key=key, content_type="application/octet-stream", filename="two.bin"
    )
    bodies = {1: os.urandom(1500), 2: os.urandom(700)}
    try:
        for n, body in bodies.items():
            signed = s3.sign_part(
                key=key, upload_id=upload_id, part_number=n, size=len(body),
                checksum_sha256=b64_sha256(body),
            )  # fmt: skip
            assert put_part({"url": signed.url, "headers": signed.headers}, body).status_code == 200
        assert s3.list_parts(key=key, upload_id=upload_id) == [
            s3.S3Part(part_number=n, size=len(body), etag=hashlib.md5(body).hexdigest())
            for n, body in bodies.items()
        ]
    finally:
        s3.abort_multipart_upload(key=key, upload_id=upload_id)
    with pytest.raises(s3.S3Error) as refused:
        s3.list_parts(key=key, upload_id=upload_id)
    assert refused.value.code == "NoSuchUpload"


def test_a_set_up_the_fast_signer_does_not_model_is_signed_by_botocore(alice_api, settings):
    upload = Upload.objects.get(pk=start_upload(alice_api, TWO_PARTS)["id"])
    settings.AWS_S3_ADDRESSING_STYLE = "auto"  # the fast signer refuses "auto"
    assert s3.part_signer() is None
    body = TWO_PARTS[8 * MiB :]
    signed = s3.sign_part(
        key=upload.key, upload_id=upload.s3_upload_id, part_number=2, size=len(body),
        checksum_sha256=b64_sha256(body),
    )  # fmt: skip
    assert put_part({"url": signed.url, "headers": signed.headers}, body).status_code == 200


# --- What the client went through (for the analytics) ------------------------------------------


def test_counters_reported_with_progress_are_kept_on_the_upload_when_it_completes(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    url = f"/api/uploads/{upload['id']}/progress/"
    report = {"bytes_uploaded": MiB, "parts_retried": 4, "resumed": True}
    assert alice_api.post(url, report, format="json").status_code == 204
    assert Upload.objects.get(pk=upload["id"]).parts_retried == 0  # progress writes no row

    response = complete(alice_api, upload)

    assert response.status_code == 202
    assert (response.json()["parts_retried"], response.json()["resumed"]) == (4, True)
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (4, True)


def test_counters_in_the_complete_body_are_kept_and_never_shrink(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    progress_url = f"/api/uploads/{upload['id']}/progress/"
    alice_api.post(progress_url, {"bytes_uploaded": 1, "parts_retried": 5}, format="json")

    response = complete(alice_api, upload, {"parts_retried": 2, "resumed": False})

    assert response.status_code == 202
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (5, False)


def test_an_aborted_upload_keeps_the_counters_its_progress_reported(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    progress_url = f"/api/uploads/{upload['id']}/progress/"
    alice_api.post(progress_url, {"bytes_uploaded": 1, "parts_retried": 3}, format="json")

    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204

    assert Upload.objects.get(pk=upload["id"]).parts_retried == 3


def test_old_clients_that_send_no_counters_still_complete(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)

    assert complete(alice_api, upload).status_code == 202
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (0, False)


@pytest.mark.parametrize(
    "path, body",
    [
        ("progress/", {"bytes_uploaded": 1, "parts_retried": -1}),
        ("progress/", {"bytes_uploaded": 1, "resumed": "perhaps"}),
        ("complete/", {"parts_retried": "many"}),
    ],
)
def test_bad_counters_are_refused(alice_api, path, body):
    upload = start_upload(alice_api, TWO_PARTS)

    response = alice_api.post(f"/api/uploads/{upload['id']}/{path}", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) <= {"parts_retried", "resumed"}


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("progress/", {"bytes_uploaded": 1, "parts_retried": 2**40}, "parts_retried"),
        ("progress/", {"bytes_uploaded": 1, "parts_retried": services.MAX_PARTS_RETRIED + 1},
         "parts_retried"),
        ("progress/", {"bytes_uploaded": MAX_S3_OBJECT_SIZE + 1}, "bytes_uploaded"),
        ("complete/", {"parts_retried": services.MAX_PARTS_RETRIED + 1}, "parts_retried"),
    ],
)  # fmt: skip
def test_a_counter_beyond_its_maximum_is_refused_and_nothing_is_kept(alice_api, path, body, field):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)

    response = alice_api.post(f"/api/uploads/{upload['id']}/{path}", body, format="json")

    assert response.status_code == 400
    assert "less than or equal to" in response.json()[field][0]
    assert complete(alice_api, upload).status_code == 202
    assert Upload.objects.get(pk=upload["id"]).parts_retried == 0


def test_counters_at_their_maximum_are_taken(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    report = {"bytes_uploaded": MAX_S3_OBJECT_SIZE, "parts_retried": services.MAX_PARTS_RETRIED}

    response = alice_api.post(f"/api/uploads/{upload['id']}/progress/", report, format="json")

    assert response.status_code == 204
    assert complete(alice_api, upload).status_code == 202
    assert Upload.objects.get(pk=upload["id"]).parts_retried == services.MAX_PARTS_RETRIED


def test_the_schema_documents_the_optional_counters(alice_api):
    schema = alice_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def request_body(path):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        reference = content["application/json"]["schema"]["$ref"]
        return schema["components"]["schemas"][reference.rsplit("/", 1)[1]]

    for path in ["/api/uploads/{id}/progress/", "/api/uploads/{id}/complete/"]:
        body = request_body(path)
        assert {"parts_retried", "resumed"} <= set(body["properties"]), path
        assert not {"parts_retried", "resumed"} & set(body.get("required", [])), path
        assert body["properties"]["parts_retried"]["minimum"] == 0
        assert body["properties"]["parts_retried"]["maximum"] == services.MAX_PARTS_RETRIED
    progress_body = request_body("/api/uploads/{id}/progress/")
    assert progress_body["properties"]["bytes_uploaded"]["maximum"] == MAX_S3_OBJECT_SIZE
