"""Completing: S3 is asked which parts arrived, and only the parts last signed are completed."""

import os

import pytest

from tests.fixtures.uploading import (
    TWO_PARTS,
    b64_md5,
    b64_sha256,
    complete,
    part_bytes,
    put_part,
    send_all_parts,
    sign,
    start_upload,
)
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db


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


def test_completing_an_aborted_upload_is_a_conflict(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    alice_api.delete(f"/api/uploads/{upload['id']}/")
    response = complete(alice_api, upload)
    assert response.status_code == 409
    assert "aborted" in response.json()["detail"]
