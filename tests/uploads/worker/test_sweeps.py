"""The sweeps: what S3 holds that no open upload needs, and uploads stuck mid-way."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.fixtures.uploading import s3_open_upload_ids, start_upload
from tests.fixtures.worker import completed_upload
from uploads.core.models import Upload, UploadState
from uploads.storage import multipart, objects
from uploads.worker import sweeps

pytestmark = pytest.mark.django_db(transaction=True)

LATER = timedelta(minutes=16)  # past UPLOADS_ORPHAN_MIN_AGE


def orphan() -> multipart.OpenMultipartUpload:
    """A multipart upload created on S3 with no row: a web process died between the two."""
    key = f"uploads/version_file/{uuid.uuid4()}/orphan.zip"
    upload_id = multipart.create_multipart_upload(
        key=key, content_type="application/zip", filename="orphan.zip"
    )
    return next(
        item for item in multipart.list_multipart_uploads(prefix=key) if item.upload_id == upload_id
    )


def test_it_aborts_an_orphan_multipart_upload_only_once_it_is_old_enough():
    young = orphan()
    assert young.initiated is not None

    assert young.upload_id not in {item.upload_id for item in sweeps.cleanup_plan().orphans}
    sweeps.uploads_cleanup_storage()
    assert young.upload_id in s3_open_upload_ids()

    sweeps.uploads_cleanup_storage(now=timezone.now() + LATER)
    assert young.upload_id not in s3_open_upload_ids()


def test_it_aborts_the_multipart_upload_of_a_row_that_is_no_longer_open(alice_api):
    upload = start_upload(alice_api, b"PK\x03\x04" + bytes(100))
    open_upload = start_upload(alice_api, b"PK\x03\x04" + bytes(200))
    # The abort's S3 call failed when the upload was cancelled: the row is final, S3 still open.
    Upload.objects.filter(pk=upload["id"]).update(
        state=UploadState.ABORTED, aborted_at=timezone.now()
    )
    row = Upload.objects.get(pk=upload["id"])

    sweeps.uploads_cleanup_storage()

    open_ids = s3_open_upload_ids()
    assert row.s3_upload_id not in open_ids
    assert Upload.objects.get(pk=open_upload["id"]).s3_upload_id in open_ids


def test_it_deletes_the_object_of_a_failed_upload(alice):
    upload = completed_upload(
        alice, b"PK\x03\x04" + bytes(100), filename="map.zip", purpose="version_file"
    )
    # The delete that failing should have done did not reach S3.
    Upload.objects.filter(pk=upload.pk).update(
        state=UploadState.FAILED, failed_at=timezone.now(), error="Not a ZIP file."
    )
    assert objects.head_object(upload.key) is not None

    done = sweeps.uploads_cleanup_storage()

    assert done["objects_deleted"] == 1
    assert objects.head_object(upload.key) is None


def test_its_dry_run_shows_what_it_would_do_and_does_nothing(alice, settings):
    settings.UPLOADS_ORPHAN_MIN_AGE = 0
    lost = orphan()
    failed = completed_upload(alice, b"PK\x03\x04", filename="f.zip", purpose="version_file")
    Upload.objects.filter(pk=failed.pk).update(state=UploadState.FAILED, failed_at=timezone.now())
    out = io.StringIO()

    call_command("upload_cleanup", "--dry-run", stdout=out)

    assert f"would abort orphan multipart upload {lost.key} ({lost.upload_id}" in out.getvalue()
    assert f"would delete object {failed.key} of failed upload {failed.pk}" in out.getvalue()
    assert lost.upload_id in s3_open_upload_ids()
    assert objects.head_object(failed.key) is not None

    call_command("upload_cleanup", stdout=io.StringIO())

    assert lost.upload_id not in s3_open_upload_ids()
    assert objects.head_object(failed.key) is None


def test_an_upload_stuck_completing_is_enqueued_again_once_per_window(alice, published_tasks):
    upload = completed_upload(
        alice, b"PK\x03\x04" + bytes(64), filename="m.zip", purpose="version_file",
        state=UploadState.COMPLETING, completing_at=timezone.now() - timedelta(hours=1), processing_at=None,
    )  # fmt: skip

    sweeps.uploads_sweep_stuck()
    sweeps.uploads_sweep_stuck()

    assert published_tasks == [str(upload.pk)]


def test_an_upload_completing_right_now_is_left_alone(alice, published_tasks):
    upload = completed_upload(
        alice, b"x", filename="m.zip", purpose="version_file",
        state=UploadState.COMPLETING, completing_at=timezone.now(), processing_at=None,
    )  # fmt: skip

    sweeps.uploads_sweep_stuck()

    assert Upload.objects.get(pk=upload.pk).state == UploadState.COMPLETING


def test_an_upload_stuck_processing_is_enqueued_again_once_per_window(alice, published_tasks):
    stuck = completed_upload(alice, b"x", processing_at=timezone.now() - timedelta(hours=1))
    fresh = completed_upload(alice, b"y")

    sweeps.uploads_sweep_stuck()
    sweeps.uploads_sweep_stuck()

    assert published_tasks == [str(stuck.pk)]
    assert str(fresh.pk) not in published_tasks


def test_a_ready_upload_whose_sha256_never_came_is_enqueued_again_once_per_window(
    alice, published_sha256_tasks, published_tasks
):
    long_ago = timezone.now() - timedelta(hours=1)
    lost = completed_upload(alice, b"x", state=UploadState.READY, ready_at=long_ago)
    hashed = completed_upload(
        alice, b"y", state=UploadState.READY, ready_at=long_ago, sha256="ab" * 32
    )
    just_ready = completed_upload(alice, b"z", state=UploadState.READY, ready_at=timezone.now())

    assert [u.pk for u in sweeps.cleanup_plan().awaiting_sha256] == [lost.pk]
    sweeps.uploads_sweep_stuck()
    sweeps.uploads_sweep_stuck()

    assert published_sha256_tasks == [str(lost.pk)]
    assert published_tasks == []  # a ready upload is not processed again
    assert str(hashed.pk) not in published_sha256_tasks
    assert str(just_ready.pk) not in published_sha256_tasks


# --- Ready uploads nothing attached ---------------------------------------------------------


def test_a_ready_upload_nothing_attaches_within_the_grace_period_is_deleted(alice, settings):
    from items import services as site
    from items.models import Item, Version
    from tests.fixtures.site import stored_keys, stored_upload

    settings.UPLOADS_UNATTACHED_GRACE = 3600
    loose = stored_upload(alice, filename="loose.png", purpose="screenshot")
    attached = stored_upload(alice, filename="map.zip")
    item = site.item_save(item=Item(owner=alice, name="Kept"), tag_names=[])
    site.version_save(version=Version(item=item, name="1", file=attached))

    assert sweeps.uploads_cleanup_storage()["unattached_deleted"] == 0  # within the grace

    later = timezone.now() + timedelta(hours=2)
    assert [u.pk for u in sweeps.cleanup_plan(now=later).unattached] == [loose.pk]
    assert sweeps.uploads_cleanup_storage(now=later)["unattached_deleted"] == 1
    assert not Upload.objects.filter(pk=loose.pk).exists()
    assert stored_keys(loose) == []
    assert stored_keys(attached) == [attached.key]


def test_an_upload_attached_after_the_plan_was_made_is_kept(alice, settings):
    from items import services as site
    from items.models import Item, Version
    from tests.fixtures.site import stored_keys, stored_upload

    settings.UPLOADS_UNATTACHED_GRACE = 0
    upload = stored_upload(alice)
    plan = sweeps.cleanup_plan(now=timezone.now() + timedelta(seconds=1))
    assert upload.pk in [u.pk for u in plan.unattached]
    item = site.item_save(item=Item(owner=alice, name="Late"), tag_names=[])
    site.version_save(version=Version(item=item, name="1", file=upload))

    assert sweeps.cleanup_apply(plan)["unattached_deleted"] == 0
    assert stored_keys(upload) == [upload.key]
