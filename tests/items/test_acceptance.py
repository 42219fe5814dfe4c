"""The issue's acceptance walk, on the real path: Postgres, SeaweedFS and a Celery worker."""

from urllib.parse import unquote

import pytest
import requests
from django.test import Client

from items.models import Download, Item, Screenshot, Version
from tests.fixtures.site import png_bytes, upload_through_engine, zip_bytes
from tests.fixtures.uploading import wait_for_sha256
from uploads.core.models import UploadState

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_newcomer_signs_up_and_publishes_an_item_with_a_file_and_screenshots(
    celery_worker, settings
):
    browser = Client()
    response = browser.post(
        "/signup/",
        {
            "username": "durandal",
            "email": "durandal@example.org",
            "password1": "rampant-AI-7",
            "password2": "rampant-AI-7",
            "passphrase": settings.SIGNUP_PASSPHRASE,
        },
    )
    assert response.status_code == 302, response.content
    response = browser.post(
        "/items/new",
        {
            "name": "Rubicon X",
            "byline": "The classic scenario, remastered",
            "body": "**Play it.**",
            "tags": "Scenario, solo",
        },
    )
    assert response.status_code == 302, response.content
    item = Item.objects.get(name="Rubicon X")
    assert response["Location"] == f"/items/{item.permalink}/versions/new"
    user = item.owner

    data = zip_bytes("levels") * 1
    upload = upload_through_engine(user, data, filename="Rubicon X.zip", purpose="version_file")
    assert upload.state == UploadState.READY, upload.error
    response = browser.post(
        f"/items/{item.permalink}/versions/new",
        {"name": "1.2", "notes": "Fixes", "file": str(upload.pk), "link": ""},
    )
    assert response.status_code == 302, response.content

    shots = [
        upload_through_engine(user, png_bytes(color), filename=f"shot{n}.png", purpose="screenshot")
        for n, color in enumerate([(200, 30, 30), (30, 30, 200)], start=1)
    ]
    assert [shot.state for shot in shots] == [UploadState.READY] * 2, [shot.error for shot in shots]
    # One post per image, as the page's drop zone sends them, then the titles.
    for shot in shots:
        response = browser.post(
            f"/items/{item.permalink}/screenshots/new", {"uploads": str(shot.pk)}
        )
        assert response.status_code == 302, response.content
    lava, water = Screenshot.objects.filter(item=item).order_by("order")
    response = browser.post(
        f"/items/{item.permalink}/screenshots/new",
        {"action": "arrange", f"title_{lava.pk}": "Lava room", f"title_{water.pk}": "Water level",
         f"order_{lava.pk}": "0", f"order_{water.pk}": "1"},
    )  # fmt: skip
    assert response.status_code == 302, response.content

    upload = wait_for_sha256(upload.pk)  # computed by the worker once the file is ready
    page = browser.get(f"/items/{item.permalink}/").content.decode()
    for expected in ["Rubicon X", "The classic scenario, remastered", "<strong>Play it.</strong>", "scenario", "solo",
                     "durandal", "1.2", "Rubicon X.zip", upload.sha256, "Lava room", "Water level"]:  # fmt: skip
        assert expected in page, expected
    for shot in Screenshot.objects.filter(item=item).select_related("upload"):
        thumb = shot.upload.result["renditions"]["thumb"]
        assert thumb["key"] in unquote(page)  # the thumb's presigned URL
        assert requests.get(shot.thumb["url"], timeout=10).headers["Content-Type"] == "image/jpeg"
    item.refresh_from_db()
    assert (item.screenshots_count, item.owner.items_count) == (2, 1)


def test_a_download_counts_once_and_redirects_to_an_attachment_from_s3(celery_worker, alice):
    data = zip_bytes("a map of Ünïcode")
    upload = upload_through_engine(alice, data, filename="Ünïcode Map.zip", purpose="version_file")
    assert upload.state == UploadState.READY, upload.error
    item = Item.objects.create(owner=alice, name="Unicode", permalink="unicode")
    version = Version.objects.create(item=item, name="1", file=upload)

    anonymous = Client()
    first = anonymous.get("/items/unicode/downloads/new")
    assert first.status_code == 302
    assert first["X-Content-Type-Options"] == "nosniff"
    version.refresh_from_db()
    item.refresh_from_db()
    assert (version.downloads_count, item.downloads_count, Download.objects.count()) == (1, 1, 1)

    served = requests.get(first["Location"], timeout=10)
    assert served.status_code == 200
    assert served.content == data
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20Map.zip" in disposition
    # S3 cannot add X-Content-Type-Options to a presigned GET (AWS nor SeaweedFS); what it can
    # pin is an opaque type, which together with the attachment makes browsers save the file.
    assert served.headers["Content-Type"] == "application/octet-stream"
    assert "X-Content-Type-Options" not in served.headers

    # The same visitor again the same day: the file, but no second count.
    second = anonymous.get(f"/items/unicode/downloads/new?version={version.pk}")
    assert second.status_code == 302
    version.refresh_from_db()
    assert (version.downloads_count, Download.objects.count()) == (1, 1)
