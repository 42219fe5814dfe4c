"""A signing request's parts are read on a fast path only when the serializer would take them
as they are; anything else goes to the serializer and its errors."""

import base64
import hashlib

import pytest

from uploads.api.signing import UploadPartsApi, well_formed_parts

SHA = base64.b64encode(hashlib.sha256(b"part").digest()).decode()
MD5 = base64.b64encode(hashlib.md5(b"part").digest()).decode()


def _serializer_parts(data):
    serializer = UploadPartsApi.SignInput(data=data)
    return serializer.validated_data["parts"] if serializer.is_valid() else None


@pytest.mark.parametrize(
    "data",
    [
        {"parts": [{"part_number": 1, "checksum_sha256": SHA}]},
        {"parts": [{"part_number": 10_000, "checksum_sha256": SHA, "content_md5": MD5}]},
        {"parts": [{"part_number": n, "checksum_sha256": SHA} for n in range(1, 101)]},
        {"parts": [{"part_number": 2, "checksum_sha256": SHA, "unknown": "ignored"}], "x": 1},
    ],
)
def test_well_formed_parts_are_read_as_the_serializer_reads_them(data):
    assert well_formed_parts(data) == _serializer_parts(data)


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        {"parts": []},
        {"parts": "1"},
        {"parts": [{"part_number": n, "checksum_sha256": SHA} for n in range(1, 102)]},
        {"parts": [1]},
        {"parts": [{"part_number": 0, "checksum_sha256": SHA}]},
        {"parts": [{"part_number": 10_001, "checksum_sha256": SHA}]},
        {"parts": [{"part_number": "1", "checksum_sha256": SHA}]},
        {"parts": [{"part_number": True, "checksum_sha256": SHA}]},
        {"parts": [{"part_number": 1.0, "checksum_sha256": SHA}]},
        {"parts": [{"checksum_sha256": SHA}]},
        {"parts": [{"part_number": 1}]},
        {"parts": [{"part_number": 1, "checksum_sha256": SHA[:-1]}]},
        {"parts": [{"part_number": 1, "checksum_sha256": SHA + "\n"}]},
        {"parts": [{"part_number": 1, "checksum_sha256": " " + SHA}]},
        {"parts": [{"part_number": 1, "checksum_sha256": "!" * 43 + "="}]},
        {"parts": [{"part_number": 1, "checksum_sha256": SHA, "content_md5": ""}]},
        {"parts": [{"part_number": 1, "checksum_sha256": SHA, "content_md5": None}]},
        {"parts": [{"part_number": 1, "checksum_sha256": SHA, "content_md5": SHA}]},
    ],
)
def test_anything_else_goes_to_the_serializer(data):
    assert well_formed_parts(data) is None
