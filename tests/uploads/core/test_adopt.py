"""Adoption: an object already on S3 becomes an Upload, copied inside S3 and handed to the
worker like any completed upload."""

import os
import uuid

import pytest

from uploads.core.adopt import upload_adopt
from uploads.core.models import UploadState
from uploads.storage import objects
from uploads.storage.connection import s3_client

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


@pytest.fixture
def source_bucket():
    name = f"adopt-{uuid.uuid4().hex[:12]}"
    client = s3_client()
    client.create_bucket(Bucket=name)
    yield name
    for found in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=found["Key"])
    client.delete_bucket(Bucket=name)


def test_a_large_object_is_copied_part_by_part(source_bucket):
    data = os.urandom(11 * MiB)
    s3_client().put_object(Bucket=source_bucket, Key="static/big.zip", Body=data)

    objects.copy_object(
        source_bucket=source_bucket, source_key="static/big.zip", key="adopted/big.zip",
        size=len(data), content_type="application/octet-stream", filename="big.zip",
        part_size=5 * MiB, single_copy_limit=5 * MiB,
    )  # fmt: skip

    head = objects.head_object("adopted/big.zip")
    assert head["ContentLength"] == len(data)
    assert "-3" in head["ETag"]  # three parts, so UploadPartCopy did it
    assert objects.read_range("adopted/big.zip", 0, len(data) - 1) == data
    assert head["ContentDisposition"].startswith('attachment; filename="big.zip"')
    objects.delete_object("adopted/big.zip")


def test_an_object_is_adopted_and_handed_to_the_worker(source_bucket, alice, published_tasks):
    data = b"PK\x05\x06" + b"\0" * 18
    s3_client().put_object(Bucket=source_bucket, Key="static/versions/1/map.zip", Body=data)

    upload = upload_adopt(
        owner=alice, purpose="version_file", filename="map.zip",
        source_bucket=source_bucket, source_key="static/versions/1/map.zip",
    )  # fmt: skip

    assert upload.state == UploadState.PROCESSING and upload.size == len(data)
    assert upload.key.startswith(f"uploads/version_file/{upload.pk}/")
    assert objects.read_range(upload.key, 0, len(data) - 1) == data
    assert published_tasks == [str(upload.pk)]


def test_a_missing_object_becomes_a_failed_upload_with_the_reason(source_bucket, alice):
    upload = upload_adopt(
        owner=alice, purpose="version_file", filename="gone.zip",
        source_bucket=source_bucket, source_key="static/versions/2/gone.zip",
    )  # fmt: skip

    assert upload.state == UploadState.FAILED
    assert upload.error == "static/versions/2/gone.zip is not in the source bucket."


def test_a_file_its_purpose_refuses_is_not_copied(source_bucket, alice, published_tasks):
    s3_client().put_object(Bucket=source_bucket, Key="static/shot.bmp", Body=b"BM" + b"\0" * 60)

    upload = upload_adopt(
        owner=alice, purpose="screenshot", filename="shot.bmp",
        source_bucket=source_bucket, source_key="static/shot.bmp",
    )  # fmt: skip

    assert upload.state == UploadState.FAILED and "“.bmp” are not accepted" in upload.error
    assert objects.head_object(upload.key) is None and published_tasks == []


def test_an_empty_object_fails_with_the_rule_the_api_applies(source_bucket, alice):
    s3_client().put_object(Bucket=source_bucket, Key="static/empty.zip", Body=b"")

    upload = upload_adopt(
        owner=alice, purpose="version_file", filename="empty.zip",
        source_bucket=source_bucket, source_key="static/empty.zip",
    )  # fmt: skip

    assert upload.state == UploadState.FAILED and upload.size == 0
    assert upload.error == "static/empty.zip: An empty file cannot be uploaded."


def test_a_source_without_a_usable_name_is_adopted_as_file(source_bucket, alice):
    data = b"PK\x05\x06" + b"\0" * 18
    s3_client().put_object(Bucket=source_bucket, Key="static/v3.zip", Body=data)

    upload = upload_adopt(
        owner=alice, purpose="version_file", filename="versions/3/",
        source_bucket=source_bucket, source_key="static/v3.zip",
    )  # fmt: skip

    assert upload.filename == "file"
