"""The S3 gateway against SeaweedFS: what a signed part URL lets through, the fast signer beside
botocore's, and part listings."""

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
import requests
from django.test import override_settings

from tests.fixtures.uploading import (
    TWO_PARTS,
    MiB,
    b64_md5,
    b64_sha256,
    complete,
    part_bytes,
    put_part,
    sign,
    start_upload,
)
from uploads.core.models import Upload
from uploads.storage import multipart, presign
from uploads.storage.connection import S3Error
from uploads.storage.sigv4 import PartUrlSigner

pytestmark = pytest.mark.django_db


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
    assert "<Code>BadDigest</Code>" in response.text


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


def test_part_urls_come_from_the_fast_signer_and_match_botocores(alice_api):
    upload = Upload.objects.get(pk=start_upload(alice_api, TWO_PARTS)["id"])
    assert isinstance(presign.part_signer(), PartUrlSigner)
    body = TWO_PARTS[8 * MiB :]
    now = datetime.now(UTC).replace(microsecond=0)
    fast = presign.part_signer().sign_upload_part(
        key=upload.key, upload_id=upload.s3_upload_id, part_number=2, content_length=len(body),
        checksum_sha256=b64_sha256(body), content_md5=b64_md5(body), expires_in=60, now=now,
    )  # fmt: skip
    # Only botocore's clock is frozen here, so that both URLs are signed for the same second.
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        reference = presign.botocore_part_url(
            key=upload.key, upload_id=upload.s3_upload_id, part_number=2, content_length=len(body),
            checksum_sha256=b64_sha256(body), content_md5=b64_md5(body), expires_in=60,
        )  # fmt: skip
    assert fast == reference
    headers = {"x-amz-checksum-sha256": b64_sha256(body), "Content-MD5": b64_md5(body)}
    assert requests.put(fast, data=body, headers=headers, timeout=30).status_code == 200


def test_a_set_up_the_fast_signer_does_not_model_is_signed_by_botocore(alice_api, settings):
    upload = Upload.objects.get(pk=start_upload(alice_api, TWO_PARTS)["id"])
    settings.AWS_S3_ADDRESSING_STYLE = "auto"  # the fast signer refuses "auto"
    assert presign.part_signer() is None
    body = TWO_PARTS[8 * MiB :]
    signed = presign.sign_part(
        key=upload.key, upload_id=upload.s3_upload_id, part_number=2, size=len(body),
        checksum_sha256=b64_sha256(body),
    )  # fmt: skip
    assert put_part({"url": signed.url, "headers": signed.headers}, body).status_code == 200


def test_listing_parts_finds_every_part_across_pages_including_part_10000(alice_api):
    # SeaweedFS lists part 10,000 between 999 and 1,000 (it sorts by file name); a page that
    # ends on it must not make the next page skip 1,000-9,999. Tiny parts keep this test fast.
    key = f"uploads/version_file/{uuid.uuid4()}/many.bin"
    upload_id = multipart.create_multipart_upload(
        key=key, content_type="application/octet-stream", filename="many.bin"
    )
    numbers = [*range(1, 10), *range(995, 1005), 9999, 10000]
    for n in numbers:
        body = b"%d" % n
        signed = presign.sign_part(
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
        # A plan of 1,010 parts keeps the chains of tiny pages to some hundred requests.
        for page_size, planned in ((5, 1_010), (7, 1_010), (1000, 10_000)):
            listed = multipart.list_parts(key=key, upload_id=upload_id, page_size=page_size)
            assert [part.part_number for part in listed] == sorted(numbers), page_size
            # Pages asked for at once, one chain per page_size part numbers: some chains find
            # nothing of their own, some run past their end into the next one's numbers.
            listed = multipart.list_parts(
                key=key, upload_id=upload_id, page_size=page_size, expected_parts=planned
            )
            assert [part.part_number for part in listed] == sorted(numbers), page_size
    finally:
        multipart.abort_multipart_upload(key=key, upload_id=upload_id)


def test_listing_parts_reads_each_parts_size_and_etag_and_names_an_unknown_upload(alice_api):
    key = f"uploads/version_file/{uuid.uuid4()}/two.bin"
    upload_id = multipart.create_multipart_upload(
        key=key, content_type="application/octet-stream", filename="two.bin"
    )
    bodies = {1: os.urandom(1500), 2: os.urandom(700)}
    try:
        for n, body in bodies.items():
            signed = presign.sign_part(
                key=key, upload_id=upload_id, part_number=n, size=len(body),
                checksum_sha256=b64_sha256(body),
            )  # fmt: skip
            assert put_part({"url": signed.url, "headers": signed.headers}, body).status_code == 200
        assert multipart.list_parts(key=key, upload_id=upload_id) == [
            multipart.S3Part(part_number=n, size=len(body), etag=hashlib.md5(body).hexdigest())
            for n, body in bodies.items()
        ]
    finally:
        multipart.abort_multipart_upload(key=key, upload_id=upload_id)
    with pytest.raises(S3Error) as refused:
        multipart.list_parts(key=key, upload_id=upload_id)
    assert refused.value.code == "NoSuchUpload"
