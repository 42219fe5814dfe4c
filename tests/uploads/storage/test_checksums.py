"""What the pinned SeaweedFS enforces on a presigned UploadPart, beside SHA-256: the premise of
signing parts with a cheaper checksum (CRC-32C or CRC-64/NVME) instead. S7 signs SHA-256; these
tests say that S3 here would refuse other bytes under CRC-32C as it does under SHA-256."""

import base64
import hashlib
import os

import pytest
import requests

from uploads.storage.connection import bucket_name, s3_client

MiB = 1024 * 1024


def _crc32c(data: bytes) -> bytes:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return (crc ^ 0xFFFFFFFF).to_bytes(4, "big")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@pytest.fixture
def part():
    data = os.urandom(MiB)
    other = bytearray(data)
    other[1000] ^= 1
    return data, bytes(other)


def _put(algorithm: str, checksum: str, body: bytes, key: str) -> requests.Response:
    client = s3_client()
    upload = client.create_multipart_upload(
        Bucket=bucket_name(), Key=key, ChecksumAlgorithm=algorithm
    )
    try:
        url = client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket_name(), "Key": key, "UploadId": upload["UploadId"],
                "PartNumber": 1, "ContentLength": len(body), f"Checksum{algorithm}": checksum,
            },
            ExpiresIn=300,
        )  # fmt: skip
        header = f"x-amz-checksum-{algorithm.lower()}"
        return requests.put(url, data=body, headers={header: checksum}, timeout=30)
    finally:
        client.abort_multipart_upload(Bucket=bucket_name(), Key=key, UploadId=upload["UploadId"])


@pytest.mark.parametrize(("algorithm", "digest"), [("CRC32C", _crc32c), ("SHA256", _sha256)])
def test_s3_takes_a_part_whose_signed_checksum_matches(part, algorithm, digest):
    data, _ = part
    checksum = base64.b64encode(digest(data)).decode()

    assert _put(algorithm, checksum, data, f"probe/{algorithm}/good").status_code == 200


@pytest.mark.parametrize(("algorithm", "digest"), [("CRC32C", _crc32c), ("SHA256", _sha256)])
def test_s3_refuses_a_part_that_differs_from_its_signed_checksum(part, algorithm, digest):
    data, other = part
    checksum = base64.b64encode(digest(data)).decode()

    answer = _put(algorithm, checksum, other, f"probe/{algorithm}/bad")

    assert answer.status_code == 400
    assert "BadDigest" in answer.text
