"""`upload_audit`: what the bucket holds that no Upload owns, and Uploads whose object is gone."""

import io
import uuid

import pytest
from django.core.management import call_command

from tests.fixtures.site import stored_keys, stored_upload
from uploads.storage import objects

pytestmark = pytest.mark.django_db(transaction=True)


def audit(*args) -> str:
    out = io.StringIO()
    call_command("upload_audit", *args, stdout=out)
    return out.getvalue()


def test_it_finds_orphan_objects_and_uploads_missing_their_object(alice):
    orphan_key = f"uploads/version_file/{uuid.uuid4()}/left-behind.zip"
    objects.put_object(key=orphan_key, body=b"x" * 2048, content_type="application/zip")
    kept = stored_upload(alice, filename="kept.png", purpose="screenshot")
    lost = stored_upload(alice, filename="lost.zip", data=b"PK\x03\x04" + b"y" * 996)
    objects.delete_object(lost.key)
    outside = f"static/versions/{uuid.uuid4()}/imported.zip"  # not the engine's to judge
    objects.put_object(key=outside, body=b"z", content_type="application/zip")

    report = audit()

    assert f"orphan object {orphan_key} (2 kB, 2,048 bytes)" in report
    assert f"missing object {lost.key} of ready upload {lost.pk} (lost.zip, 1,000 bytes)" in report
    kept_folder = kept.key.rsplit("/", 1)[0]
    assert kept_folder not in report  # neither the image nor its renditions
    assert outside not in report
    assert "Run with --fix" in report
    assert objects.head_object(orphan_key) is not None  # listing deletes nothing


def test_fix_deletes_the_orphans_and_nothing_an_upload_owns(alice):
    orphan_key = f"uploads/screenshot/{uuid.uuid4()}/renditions/thumb.jpg"
    objects.put_object(key=orphan_key, body=b"x", content_type="image/jpeg")
    kept = stored_upload(alice, filename="kept.png", purpose="screenshot")

    report = audit("--fix")

    assert "Deleted" in report
    assert objects.head_object(orphan_key) is None
    assert len(stored_keys(kept)) == 3
    assert orphan_key not in audit()
