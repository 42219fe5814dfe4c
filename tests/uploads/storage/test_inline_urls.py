"""An image's inline URL is signed once and handed out again for the first sixth of its life,
so a page or list of many images costs no signing and browsers cache each image."""

import pytest

from uploads.storage import presign
from uploads.storage.connection import s3_client


@pytest.fixture
def signings(monkeypatch):
    monkeypatch.setattr(presign, "_inline_urls", {})
    client = s3_client()
    real = client.generate_presigned_url
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs["Params"]["Key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "generate_presigned_url", counting)
    return calls


def test_an_inline_url_is_signed_once_and_handed_out_again(signings):
    first = presign.presigned_inline_get("uploads/screenshot/a/thumb.jpg")
    again = presign.presigned_inline_get("uploads/screenshot/a/thumb.jpg")
    other = presign.presigned_inline_get("uploads/screenshot/b/thumb.jpg")
    assert first == again != other
    assert "X-Amz-Signature" in first and "response-content-type=image%2Fjpeg" in first
    assert signings == ["uploads/screenshot/a/thumb.jpg", "uploads/screenshot/b/thumb.jpg"]


def test_another_type_or_life_is_another_url(signings):
    presign.presigned_inline_get("uploads/x.png", content_type="image/png")
    presign.presigned_inline_get("uploads/x.png", content_type="image/jpeg")
    presign.presigned_inline_get("uploads/x.png", content_type="image/jpeg", expires_in=60)
    assert len(signings) == 3


def test_after_a_sixth_of_its_life_a_new_url_is_signed(signings, monkeypatch, settings):
    settings.UPLOADS_INLINE_URL_EXPIRES = 600
    clock = [1000.0]
    monkeypatch.setattr(presign.time, "monotonic", lambda: clock[0])
    presign.presigned_inline_get("uploads/screenshot/a/thumb.jpg")
    clock[0] += 99
    presign.presigned_inline_get("uploads/screenshot/a/thumb.jpg")
    assert len(signings) == 1
    clock[0] += 2
    presign.presigned_inline_get("uploads/screenshot/a/thumb.jpg")
    assert len(signings) == 2
