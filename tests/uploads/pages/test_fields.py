"""UploadField: a form accepts only the submitter's own ready upload of the field's purpose."""

import uuid
from datetime import timedelta

import pytest
from django import forms
from django.utils import timezone

from uploads.core.models import Upload, UploadState
from uploads.pages.fields import UploadField, UploadFormMixin


class VersionForm(UploadFormMixin, forms.Form):
    file = UploadField(purpose="version_file")


def make_upload(owner, *, purpose="version_file", state=UploadState.READY) -> Upload:
    upload_id = uuid.uuid4()
    return Upload.objects.create(
        id=upload_id,
        owner=owner,
        purpose=purpose,
        filename="map.zip",
        key=f"uploads/{purpose}/{upload_id}/map.zip",
        size=1024,
        content_type="application/zip",
        part_size=5 * 1024 * 1024,
        part_count=1,
        state=state,
        expires_at=timezone.now() + timedelta(days=1),
    )


@pytest.mark.django_db
def test_it_accepts_a_ready_upload_of_ones_own(alice):
    upload = make_upload(alice)
    form = VersionForm({"file": str(upload.pk)}, user=alice)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["file"] == upload


@pytest.mark.django_db
def test_it_rejects_another_users_upload(alice, bob):
    upload = make_upload(bob)
    form = VersionForm({"file": str(upload.pk)}, user=alice)
    assert not form.is_valid()
    assert form.errors["file"] == ["That upload does not exist or is not yours."]


@pytest.mark.django_db
def test_it_rejects_an_upload_that_is_not_ready(alice):
    upload = make_upload(alice, state=UploadState.PROCESSING)
    form = VersionForm({"file": str(upload.pk)}, user=alice)
    assert not form.is_valid()
    assert form.errors["file"] == ["That upload is processing, not ready yet."]


@pytest.mark.django_db
def test_it_rejects_an_upload_of_another_purpose(alice):
    upload = make_upload(alice, purpose="screenshot")
    form = VersionForm({"file": str(upload.pk)}, user=alice)
    assert not form.is_valid()
    assert form.errors["file"] == ["That upload is not a version file."]


@pytest.mark.django_db
def test_it_rejects_an_unknown_id_and_garbage(alice):
    assert VersionForm({"file": str(uuid.uuid4())}, user=alice).errors["file"] == [
        "That upload does not exist or is not yours."
    ]
    assert VersionForm({"file": "../etc/passwd"}, user=alice).errors["file"] == [
        "That is not an upload."
    ]


@pytest.mark.django_db
def test_it_rejects_any_upload_when_nobody_is_signed_in(alice):
    upload = make_upload(alice)
    form = VersionForm({"file": str(upload.pk)})
    assert form.errors["file"] == ["That upload does not exist or is not yours."]


@pytest.mark.django_db
def test_fields_added_after_init_still_check_the_owner(alice, bob):
    class BuiltForm(UploadFormMixin, forms.Form):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["file"] = UploadField(purpose="version_file")

    assert BuiltForm({"file": str(make_upload(alice).pk)}, user=alice).is_valid()
    assert not BuiltForm({"file": str(make_upload(bob).pk)}, user=alice).is_valid()


def test_its_widget_renders_the_uploader_hook():
    html = VersionForm().as_p()
    assert 'type="hidden"' in html
    assert "data-s7-upload" in html
    assert 'data-purpose="version_file"' in html
    assert 'data-api="/api/uploads/"' in html
    assert "uploads/uploader.js" in str(VersionForm().media)


@pytest.mark.django_db
def test_the_demo_page_needs_a_sign_in_and_offers_one_field_per_purpose(client, alice):
    assert client.get("/uploads/demo/").status_code == 302
    client.force_login(alice)
    page = client.get("/uploads/demo/").content.decode()
    assert 'data-purpose="version_file"' in page
    assert 'data-purpose="screenshot"' in page


@pytest.mark.django_db
def test_the_demo_form_takes_a_ready_upload(client, alice):
    upload = make_upload(alice)
    client.force_login(alice)
    page = client.post("/uploads/demo/", {"version_file": str(upload.pk)}).content.decode()
    assert "Received" in page and "map.zip" in page


class GalleryForm(UploadFormMixin, forms.Form):
    files = UploadField(purpose="version_file", multiple=True, required=False)


@pytest.mark.django_db
def test_a_multiple_field_takes_several_uploads_in_the_order_given(alice):
    first, second = make_upload(alice), make_upload(alice)
    form = GalleryForm({"files": f"{second.pk}, {first.pk}"}, user=alice)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["files"] == [second, first]
    assert GalleryForm({"files": ""}, user=alice).is_valid()


@pytest.mark.django_db
def test_a_multiple_field_refuses_the_same_upload_twice_and_anyone_else_s(alice, bob):
    mine, theirs = make_upload(alice), make_upload(bob)
    twice = GalleryForm({"files": f"{mine.pk},{mine.pk}"}, user=alice)
    assert twice.errors["files"] == ["The same upload is chosen twice."]
    other = GalleryForm({"files": f"{mine.pk},{theirs.pk}"}, user=alice)
    assert other.errors["files"] == ["That upload does not exist or is not yours."]
    many = GalleryForm({"files": ",".join([str(mine.pk)] * 101)}, user=alice)
    assert many.errors["files"] == ["At most 100 uploads at once."]


def test_only_a_multiple_field_s_widget_asks_for_many_files():
    assert "data-multiple" in str(GalleryForm()["files"])
    assert "data-multiple" not in str(VersionForm()["file"])
