"""The worker's half of completion: it assembles the parts S3 holds, also after a worker died
half-way."""

import os

import pytest

from tests.fixtures.uploading import (
    TWO_PARTS,
    MiB,
    complete,
    part_bytes,
    put_part,
    send_all_parts,
    sign,
    start_upload,
)
from uploads.core.models import Upload
from uploads.storage import objects
from uploads.storage.connection import bucket_name, s3_client
from uploads.worker.completion import upload_finish_completion

pytestmark = pytest.mark.django_db


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
    stored = s3_client().get_object(Bucket=bucket_name(), Key=upload["key"])["Body"].read()
    assert stored == changed


def test_completion_finishes_after_a_worker_died_between_s3_and_the_database(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    complete(alice_api, upload)
    upload_finish_completion(upload=Upload.objects.get(pk=upload["id"]))
    # As if the worker had died after CompleteMultipartUpload but before recording it.
    Upload.objects.filter(pk=upload["id"]).update(state="completing")

    again = upload_finish_completion(upload=Upload.objects.get(pk=upload["id"]))

    assert again.state == "processing"
    assert objects.head_object(upload["key"])["ContentLength"] == len(TWO_PARTS)
