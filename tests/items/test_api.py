"""The public read-only API of the site, and the OpenAPI schema it shares with the upload API."""

import pytest
from django.core.management import call_command

from items import services
from tests.fixtures.site import make_item, ready_upload

pytestmark = pytest.mark.django_db


def test_it_lists_items_with_pagination_to_anyone(alice, anonymous_api):
    for n in range(27):
        make_item(alice, f"Map {n:02}", tags=["map"])
    first = anonymous_api.get("/api/items/")
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 27 and len(body["results"]) == 25 and body["next"]
    second = anonymous_api.get(body["next"])
    assert len(second.json()["results"]) == 2
    item = body["results"][0]
    assert {"permalink", "name", "owner", "tags", "downloads_count", "rating_weighted"} <= set(item)
    assert item["owner"] == "alice" and item["tags"] == ["map"]


def test_it_is_read_only(alice, alice_api):
    make_item(alice, "Map")
    assert alice_api.post("/api/items/", {"name": "x"}, format="json").status_code == 405
    assert alice_api.delete("/api/tags/1/").status_code == 405


def test_it_lists_versions_reviews_downloads_screenshots_and_tags(alice, bob, anonymous_api):
    item = make_item(alice, "Map", tags=["map"])
    version = item.versions.first()
    services.review_create(version=version, user=bob, title="Nice", body="", rating=4)
    services.download_record(version=version, user=bob)
    shot = ready_upload(
        alice, filename="a.png", purpose="screenshot",
        result={"renditions": {"thumb": {"key": "uploads/screenshot/x/thumb.jpg", "width": 300, "height": 225},
                               "content": {"key": "uploads/screenshot/x/content.jpg", "width": 920, "height": 690}}},
    )  # fmt: skip
    services.screenshots_add(item=item, uploads_and_titles=[(shot, "Lava")])

    versions = anonymous_api.get("/api/versions/").json()["results"]
    assert versions[0]["item"] == "map" and versions[0]["link"] and versions[0]["ready"] is True
    reviews = anonymous_api.get("/api/reviews/").json()["results"]
    assert (reviews[0]["user"], reviews[0]["rating"]) == ("bob", 4)
    downloads = anonymous_api.get("/api/downloads/").json()["results"]
    assert downloads[0]["item"] == "map" and "user" not in downloads[0]
    shots = anonymous_api.get("/api/screenshots/").json()["results"]
    assert shots[0]["title"] == "Lava" and shots[0]["thumb"]["width"] == 300
    assert "thumb.jpg" in shots[0]["thumb"]["url"] and "X-Amz-Signature" in shots[0]["thumb"]["url"]
    tags = anonymous_api.get("/api/tags/").json()["results"]
    assert tags == [{"id": tags[0]["id"], "name": "map", "permalink": "map", "items_count": 1}]


def test_the_openapi_schema_validates_with_the_site_and_upload_apis(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in ["/api/items/", "/api/versions/", "/api/downloads/", "/api/reviews/", "/api/screenshots/",
                 "/api/tags/", "/api/uploads/"]:  # fmt: skip
        assert f"  {path}:" in schema, path
