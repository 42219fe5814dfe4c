"""Helpers for the site's tests (no tests here): files that pass the engine's content checks,
and uploads made ready either through the real engine and worker or directly."""

import io
import zipfile

from PIL import Image
from rest_framework.test import APIClient

from items import services as site
from items.models import Item, Version
from tests.conftest import send_all_parts, start_upload, wait_for_state
from uploads import services as engine
from uploads.models import UploadState


def zip_bytes(text="Aleph One map", name="Map.sceA") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def png_bytes(color=(40, 120, 60), size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def upload_through_engine(user, data: bytes, *, filename: str, purpose: str):
    """The real path: the upload API, part PUTs to S3, completion; the worker makes it ready.

    Needs the ``celery_worker`` fixture and a transactional test.
    """
    api = api_for(user)
    if purpose == "version_file":
        upload = start_upload(api, data, filename=filename, purpose=purpose)
    else:
        response = api.post(
            "/api/uploads/",
            {"filename": filename, "size": len(data), "content_type": "image/png", "purpose": purpose},
            format="json",
        )
        assert response.status_code == 201, response.content
        upload = response.json()
    send_all_parts(api, upload, data)
    response = api.post(f"/api/uploads/{upload['id']}/complete/", {}, format="json")
    assert response.status_code in (200, 202), response.content
    return wait_for_state(upload["id"], {UploadState.READY, UploadState.FAILED})


def ready_upload(user, *, filename="map.zip", purpose="version_file", size=1234, result=None):
    """An upload moved to ready without bytes on S3, for tests about the site's own rules."""
    upload = engine.upload_create(
        owner=user, filename=filename, size=size, content_type="application/octet-stream", purpose=purpose
    )
    engine.transition(upload, source=UploadState.UPLOADING, target=UploadState.PROCESSING)
    engine.transition(
        upload, source=UploadState.PROCESSING, target=UploadState.READY, sha256="ab" * 32, result=result or {}
    )
    return upload


def make_item(owner, name, *, tags=(), tc=None, body="", byline="", link="https://example.org/f.zip"):
    item = site.item_save(
        item=Item(owner=owner, name=name, body=body, byline=byline, tc=tc), tag_names=list(tags)
    )
    if link:
        site.version_save(version=Version(item=item, name="1.0", link=link))
    item.refresh_from_db()
    return item
