"""The Upload's state machine: one guarded transition, one guarded way to fail."""

import pytest

from tests.fixtures.worker import completed_upload, photo_with_orientation
from uploads.core.models import Upload, UploadState
from uploads.storage import objects
from uploads.worker import processing

pytestmark = pytest.mark.django_db(transaction=True)


def keys_of(upload: Upload) -> list[str]:
    return [upload.key, *(r["key"] for r in upload.result["renditions"].values())]


@pytest.fixture
def ready(alice):
    """A screenshot processed to ready in this process: its object and renditions on S3."""
    upload = processing.upload_process(upload=completed_upload(alice, photo_with_orientation()))
    assert upload.state == UploadState.READY, upload.error
    assert all(objects.head_object(key) for key in keys_of(upload))
    return upload


def test_a_late_failure_never_deletes_a_ready_uploads_object(ready):
    # A delivery that loaded the row while it was still processing fails it after another
    # delivery made it ready.
    late = Upload.objects.get(pk=ready.pk)
    late.state = UploadState.PROCESSING

    assert late.fail("The late delivery found a problem.") is False

    assert late.state == UploadState.READY and late.error == ""
    assert Upload.objects.get(pk=ready.pk).state == UploadState.READY
    assert all(objects.head_object(key) for key in keys_of(ready))


def test_a_duplicate_timeout_never_deletes_a_ready_uploads_object(ready):
    stale = Upload.objects.get(pk=ready.pk)
    stale.state = UploadState.PROCESSING

    ended = processing.upload_fail_timed_out(upload=stale)

    assert ended.state == UploadState.READY
    assert all(objects.head_object(key) for key in keys_of(ready))


def test_a_failure_that_wins_deletes_the_object_and_any_renditions(alice):
    upload = completed_upload(alice, photo_with_orientation())
    rendition_key = upload.rendition_key("thumb")
    objects.put_object(key=rendition_key, body=b"half-written", content_type="image/jpeg")

    assert upload.fail("It was not an image after all.") is True
    assert upload.fail("A second failure.") is False

    upload.refresh_from_db()
    assert (upload.state, upload.error) == (UploadState.FAILED, "It was not an image after all.")
    assert objects.head_object(upload.key) is None
    assert objects.head_object(rendition_key) is None


def test_a_transition_from_the_wrong_state_changes_nothing(alice):
    upload = completed_upload(alice, b"x" * 10, filename="map.zip", purpose="version_file")

    assert upload.transition(source=UploadState.UPLOADING, target=UploadState.ABORTED) is False

    assert Upload.objects.get(pk=upload.pk).state == UploadState.PROCESSING
    assert upload.transition(source=UploadState.PROCESSING, target=UploadState.READY) is True
    assert Upload.objects.get(pk=upload.pk).ready_at is not None
