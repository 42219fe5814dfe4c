import pytest

from tests.fixtures.uploading import send_all_parts, start_upload


@pytest.mark.django_db
def test_a_small_upload_completes(alice_api):
    data = b"x" * (6 * 1024 * 1024)
    upload = start_upload(alice_api, data)
    send_all_parts(alice_api, upload, data)
    response = alice_api.post(f"/api/uploads/{upload['id']}/complete/", {}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "completing"
