"""Files the site lets go of are deleted from S3 once the deletion is committed."""

import pytest
from django.db import transaction

from items import services as site
from items.models import Item, Screenshot, Version
from tests.fixtures.site import stored_keys, stored_upload
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db(transaction=True)


def item_with_file_and_screenshot(owner):
    item = site.item_save(item=Item(owner=owner, name="Rubicon"), tag_names=[])
    version = site.version_save(version=Version(item=item, name="1.0", file=stored_upload(owner)))
    shot = site.screenshots_add(
        item=item,
        uploads_and_titles=[(stored_upload(owner, filename="a.png", purpose="screenshot"), "")],
    )[0]
    return item, version, shot


def test_deleting_an_item_deletes_its_files_and_renditions(alice):
    item, version, shot = item_with_file_and_screenshot(alice)
    file, image = version.file, shot.upload
    assert stored_keys(file) == [file.key]
    assert len(stored_keys(image)) == 3  # the image, its thumb and its content rendition

    site.item_delete(item=item)

    assert stored_keys(file) == [] and stored_keys(image) == []
    assert not Upload.objects.filter(pk__in=[file.pk, image.pk]).exists()


def test_nothing_is_deleted_from_s3_when_the_deletion_is_rolled_back(alice):
    item, version, _ = item_with_file_and_screenshot(alice)

    with pytest.raises(RuntimeError), transaction.atomic():
        site.item_delete(item=item)
        raise RuntimeError("the request failed after the deletion")

    assert stored_keys(version.file) == [version.file.key]
    assert Upload.objects.filter(pk=version.file_id).exists()


def test_deleting_a_version_or_a_screenshot_deletes_its_file(alice):
    item, version, shot = item_with_file_and_screenshot(alice)

    version.delete()
    site.screenshots_arrange(item=item, orders={}, titles={}, delete={shot.pk})

    assert stored_keys(version.file) == [] and stored_keys(shot.upload) == []


def test_replacing_a_versions_file_deletes_the_old_one(alice):
    _, version, _ = item_with_file_and_screenshot(alice)
    old, new = version.file, stored_upload(alice, filename="v2.zip")

    version.file = new
    site.version_save(version=version)

    assert stored_keys(old) == [] and stored_keys(new) == [new.key]
    assert not Upload.objects.filter(pk=old.pk).exists()


def test_replacing_a_screenshots_image_deletes_the_old_one(alice):
    _, _, shot = item_with_file_and_screenshot(alice)
    old = shot.upload
    shot.upload = stored_upload(alice, filename="b.png", purpose="screenshot")
    shot.save()

    assert stored_keys(old) == []
    assert len(stored_keys(shot.upload)) == 3


def test_a_version_becoming_a_link_deletes_its_file(alice):
    _, version, _ = item_with_file_and_screenshot(alice)
    old = version.file
    version.file, version.link = None, "https://example.org/map.zip"
    site.version_save(version=version)

    assert stored_keys(old) == []


def test_deleting_a_user_deletes_every_file_they_stored(alice, bob):
    _, version, shot = item_with_file_and_screenshot(alice)
    loose = stored_upload(alice, filename="never-attached.zip")
    kept = stored_upload(bob, filename="bobs.zip")

    alice.delete()

    for upload in (version.file, shot.upload, loose):
        assert stored_keys(upload) == []
    assert stored_keys(kept) == [kept.key]
    assert not Screenshot.objects.exists()


def test_the_item_page_says_a_files_sha256_is_being_computed_until_the_worker_has_it(alice):
    from django.test import Client

    item = site.item_save(item=Item(owner=alice, name="Rubicon"), tag_names=[])
    upload = stored_upload(alice)
    Upload.objects.filter(pk=upload.pk).update(sha256="")
    site.version_save(version=Version(item=item, name="1.0", file=upload))

    page = Client().get(f"/items/{item.permalink}/").content.decode()
    assert "SHA-256 being computed…" in page
    assert 'rel="nofollow">Download</a>' in page  # downloadable meanwhile: the file is ready

    Upload.objects.filter(pk=upload.pk).update(sha256="cd" * 32)
    page = Client().get(f"/items/{item.permalink}/").content.decode()
    assert "being computed" not in page
    assert f"<code>{'cd' * 32}</code>" in page
