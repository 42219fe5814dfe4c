"""The per-user byte quota: finished and unfinished uploads together; staff are exempt."""

import pytest
from django.test import override_settings

from tests.fixtures.site import ready_upload
from uploads.core.quota import bytes_held, human_size

pytestmark = pytest.mark.django_db

GB = 1000**3


def create(api, size, filename="big.zip"):
    return api.post(
        "/api/uploads/",
        {"filename": filename, "size": size, "purpose": "version_file"},
        format="json",
    )


@override_settings(UPLOADS_QUOTA_BYTES=10 * GB)
def test_a_file_past_the_quota_is_refused_with_what_is_used_and_allowed(alice, alice_api):
    ready_upload(alice, size=int(4.6 * GB))  # stored
    assert create(alice_api, 5 * GB - 1).status_code == 201  # unfinished, counted too

    response = create(alice_api, int(1.2 * GB))

    assert response.status_code == 413
    assert response.json() == {
        "detail": "You have used 9.6 GB of your 10 GB; this 1.2 GB file would exceed it.",
        "code": "over_quota",
        "used": int(4.6 * GB) + 5 * GB - 1,
        "quota": 10 * GB,
    }


@override_settings(UPLOADS_QUOTA_BYTES=10 * GB)
def test_a_file_that_fits_exactly_is_accepted(alice, alice_api):
    ready_upload(alice, size=3 * GB)
    ready_upload(alice, size=3 * GB)
    assert create(alice_api, 4 * GB).status_code == 201
    assert bytes_held(alice) == 10 * GB


@override_settings(UPLOADS_QUOTA_BYTES=1 * GB)
def test_failed_aborted_and_expired_uploads_free_their_room(alice, alice_api):
    upload_id = create(alice_api, GB).json()["id"]
    assert create(alice_api, 1).status_code == 413

    assert alice_api.delete(f"/api/uploads/{upload_id}/").status_code == 204

    assert create(alice_api, GB).status_code == 201


@override_settings(UPLOADS_QUOTA_BYTES=1 * GB)
def test_staff_have_no_quota(alice, alice_api):
    alice.is_staff = True
    alice.save()
    ready_upload(alice, size=GB)
    assert create(alice_api, 2 * GB).status_code == 201


@override_settings(UPLOADS_QUOTA_BYTES=1 * GB)
def test_another_users_files_do_not_count(alice, bob, alice_api):
    ready_upload(bob, size=GB)
    assert create(alice_api, GB).status_code == 201


def test_sizes_read_as_people_write_them():
    assert human_size(10 * GB) == "10 GB"
    assert human_size(9_600_000_000) == "9.6 GB"
    assert human_size(1_234_567) == "1.2 MB"
    assert human_size(999) == "999 bytes"
