"""Who may do what: the owner, a stranger (404), nobody signed in (401), a browser without CSRF."""

import pytest
from django.test import Client

from tests.fixtures.uploading import TWO_PARTS, b64_sha256, send_all_parts, start_upload
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db


ENDPOINTS = [
    ("get", "/api/uploads/{id}/", None),
    ("delete", "/api/uploads/{id}/", None),
    (
        "post",
        "/api/uploads/{id}/parts/",
        {"parts": [{"part_number": 1, "checksum_sha256": b64_sha256(b"x")}]},
    ),
    ("get", "/api/uploads/{id}/progress/", None),
    ("post", "/api/uploads/{id}/progress/", {"bytes_uploaded": 1}),
    ("post", "/api/uploads/{id}/complete/", {}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_a_stranger_gets_404_on_every_endpoint(alice_api, charlie_api, method, path, body):
    upload = start_upload(alice_api, TWO_PARTS)
    response = getattr(charlie_api, method)(path.format(id=upload["id"]), body, format="json")
    assert response.status_code == 404
    assert Upload.objects.get(pk=upload["id"]).state == "uploading"


@pytest.mark.parametrize(
    "method, path, body",
    ENDPOINTS + [("post", "/api/uploads/", {}), ("get", "/api/uploads/", None)],
)
def test_anonymous_gets_401_on_every_endpoint(alice_api, anonymous_api, method, path, body):
    upload = start_upload(alice_api, TWO_PARTS)
    response = getattr(anonymous_api, method)(path.format(id=upload["id"]), body, format="json")
    assert response.status_code == 401


# What the owner gets from each endpoint, in the order of ENDPOINTS.
OWNER_STATUSES = [200, 204, 200, 200, 204, 202]


@pytest.mark.parametrize(
    "method, path, body, status",
    [(*endpoint, status) for endpoint, status in zip(ENDPOINTS, OWNER_STATUSES, strict=True)],
)
def test_the_owner_succeeds_on_every_endpoint(alice_api, method, path, body, status):
    upload = start_upload(alice_api, TWO_PARTS)
    if path.endswith("complete/"):
        send_all_parts(alice_api, upload, TWO_PARTS)
    response = getattr(alice_api, method)(path.format(id=upload["id"]), body, format="json")
    assert response.status_code == status, response.content


def test_a_stranger_does_not_see_the_owners_uploads_in_the_list(alice_api, charlie_api):
    start_upload(alice_api, TWO_PARTS)
    assert charlie_api.get("/api/uploads/").json() == []


def test_session_auth_requires_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(
        "/api/uploads/",
        {"filename": "a.zip", "size": 10, "purpose": "version_file"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
