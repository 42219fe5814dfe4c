"""One upload: the parts S3 holds for a resume, and aborting it."""

import hashlib

import pytest

from tests.fixtures.uploading import (
    TWO_PARTS,
    MiB,
    b64_sha256,
    complete,
    part_bytes,
    put_part,
    s3_open_upload_ids,
    send_all_parts,
    sign,
    start_upload,
)
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db


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


def test_delete_aborts_the_multipart_upload_on_s3(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    s3_id = Upload.objects.get(pk=upload["id"]).s3_upload_id
    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204
    assert s3_id not in s3_open_upload_ids()
    assert Upload.objects.get(pk=upload["id"]).state == "aborted"
    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204  # idempotent


def test_a_completed_upload_cannot_be_aborted(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    complete(alice_api, upload)
    response = alice_api.delete(f"/api/uploads/{upload['id']}/")
    assert response.status_code == 409
    assert Upload.objects.get(pk=upload["id"]).s3_upload_id in s3_open_upload_ids()
