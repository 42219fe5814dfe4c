"""Signing parts: what a signed part carries, and which signing requests are refused."""

import pytest

from tests.fixtures.uploading import TWO_PARTS, MiB, b64_md5, b64_sha256, sign, start_upload

pytestmark = pytest.mark.django_db


def test_signed_urls_pin_each_parts_size_and_checksum(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    signed = sign(alice_api, upload, TWO_PARTS, [1, 2])
    assert signed[1]["size"] == 8 * MiB and signed[2]["size"] == 1234
    assert signed[2]["method"] == "PUT"
    assert signed[2]["headers"]["x-amz-checksum-sha256"] == b64_sha256(TWO_PARTS[8 * MiB :])
    assert "content-length" in signed[2]["url"].lower()


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


def test_signing_for_an_aborted_upload_is_a_conflict(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    alice_api.delete(f"/api/uploads/{upload['id']}/")
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/parts/",
        {"parts": [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}]},
        format="json",
    )
    assert response.status_code == 409
