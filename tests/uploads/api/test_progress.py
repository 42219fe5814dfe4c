"""Progress reports, and the counters a client reports of its run (for the analytics)."""

import pytest

from tests.fixtures.uploading import TWO_PARTS, MiB, complete, send_all_parts, start_upload
from uploads.api import services
from uploads.core.models import Upload
from uploads.core.plan import MAX_S3_OBJECT_SIZE

pytestmark = pytest.mark.django_db


def test_progress_is_reported_and_read_back(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    url = f"/api/uploads/{upload['id']}/progress/"
    assert alice_api.post(url, {"bytes_uploaded": 4 * MiB}, format="json").status_code == 204
    progress = alice_api.get(url).json()
    assert progress["bytes_uploaded"] == 4 * MiB
    assert progress["size"] == len(TWO_PARTS)
    assert progress["state"] == "uploading" and progress["stage"] == "uploading"
    assert progress["percent"] == round(100 * 4 * MiB / len(TWO_PARTS), 1)
    assert progress["updated_at"]


def test_progress_rejects_a_negative_count(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    response = alice_api.post(
        f"/api/uploads/{upload['id']}/progress/", {"bytes_uploaded": -1}, format="json"
    )
    assert response.status_code == 400


def test_counters_reported_with_progress_are_kept_on_the_upload_when_it_completes(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    url = f"/api/uploads/{upload['id']}/progress/"
    report = {"bytes_uploaded": MiB, "parts_retried": 4, "resumed": True}
    assert alice_api.post(url, report, format="json").status_code == 204
    assert Upload.objects.get(pk=upload["id"]).parts_retried == 0  # progress writes no row

    response = complete(alice_api, upload)

    assert response.status_code == 202
    assert (response.json()["parts_retried"], response.json()["resumed"]) == (4, True)
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (4, True)


def test_counters_in_the_complete_body_are_kept_and_never_shrink(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    progress_url = f"/api/uploads/{upload['id']}/progress/"
    alice_api.post(progress_url, {"bytes_uploaded": 1, "parts_retried": 5}, format="json")

    response = complete(alice_api, upload, {"parts_retried": 2, "resumed": False})

    assert response.status_code == 202
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (5, False)


def test_an_aborted_upload_keeps_the_counters_its_progress_reported(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    progress_url = f"/api/uploads/{upload['id']}/progress/"
    alice_api.post(progress_url, {"bytes_uploaded": 1, "parts_retried": 3}, format="json")

    assert alice_api.delete(f"/api/uploads/{upload['id']}/").status_code == 204

    assert Upload.objects.get(pk=upload["id"]).parts_retried == 3


def test_old_clients_that_send_no_counters_still_complete(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)

    assert complete(alice_api, upload).status_code == 202
    stored = Upload.objects.get(pk=upload["id"])
    assert (stored.parts_retried, stored.resumed) == (0, False)


@pytest.mark.parametrize(
    "path, body",
    [
        ("progress/", {"bytes_uploaded": 1, "parts_retried": -1}),
        ("progress/", {"bytes_uploaded": 1, "resumed": "perhaps"}),
        ("complete/", {"parts_retried": "many"}),
    ],
)
def test_bad_counters_are_refused(alice_api, path, body):
    upload = start_upload(alice_api, TWO_PARTS)

    response = alice_api.post(f"/api/uploads/{upload['id']}/{path}", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) <= {"parts_retried", "resumed"}


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("progress/", {"bytes_uploaded": 1, "parts_retried": 2**40}, "parts_retried"),
        ("progress/", {"bytes_uploaded": 1, "parts_retried": services.MAX_PARTS_RETRIED + 1},
         "parts_retried"),
        ("progress/", {"bytes_uploaded": MAX_S3_OBJECT_SIZE + 1}, "bytes_uploaded"),
        ("complete/", {"parts_retried": services.MAX_PARTS_RETRIED + 1}, "parts_retried"),
    ],
)  # fmt: skip
def test_a_counter_beyond_its_maximum_is_refused_and_nothing_is_kept(alice_api, path, body, field):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)

    response = alice_api.post(f"/api/uploads/{upload['id']}/{path}", body, format="json")

    assert response.status_code == 400
    assert "less than or equal to" in response.json()[field][0]
    assert complete(alice_api, upload).status_code == 202
    assert Upload.objects.get(pk=upload["id"]).parts_retried == 0


def test_counters_at_their_maximum_are_taken(alice_api):
    upload = start_upload(alice_api, TWO_PARTS)
    send_all_parts(alice_api, upload, TWO_PARTS)
    report = {"bytes_uploaded": MAX_S3_OBJECT_SIZE, "parts_retried": services.MAX_PARTS_RETRIED}

    response = alice_api.post(f"/api/uploads/{upload['id']}/progress/", report, format="json")

    assert response.status_code == 204
    assert complete(alice_api, upload).status_code == 202
    assert Upload.objects.get(pk=upload["id"]).parts_retried == services.MAX_PARTS_RETRIED
