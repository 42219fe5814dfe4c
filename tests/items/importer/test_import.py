"""The importer against a live site stand-in (its schema in Postgres, its files on SeaweedFS)."""

import hashlib
import io
from contextlib import redirect_stdout

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from items.importer.context import Options
from items.importer.run import import_live_site
from items.models import Download, DownloadDay, Item, Review, Tag, User, Version
from tests.fixtures.live_site import OLD_PASSWORD
from tests.fixtures.live_urls import walk_the_live_site
from tests.fixtures.snapshots import snapshot
from tests.fixtures.uploading import wait_for_sha256
from uploads.core.models import Upload

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]


def run_import(site, **options):
    return import_live_site(Options(source_url=site.url, bucket=site.bucket, quiet=True, **options))


def test_it_imports_rows_files_and_passwords(live_site, celery_worker, client, settings):
    live_site.fill(downloads=3000)

    report = run_import(live_site, wait=120)

    assert report.rows == {
        "users": (4, 4),
        "tags": (3, 2),  # "Solo" and "solo" are one tag
        "items": (3, 3),
        "versions": (5, 5),
        "reviews": (3, 2),  # tycho's two reviews of 1.0 are one
        "screenshots": (2, 2),
        "downloads": (3000, 3000),
    }
    assert report.files_copied == 4 and report.files_pending == 0
    assert report.bytes_copied == sum(
        len(data) for name, data in live_site.files.items() if not name.endswith(".exe")
    )
    assert [line.split(":")[0] for line in report.failures] == ["version 103", "version 104"]
    assert "versions/103/gone.zip is not in the source bucket" in report.failures[0]
    assert "setup.exe" in report.failures[1]
    assert any("“Solo” (1), “solo” (5) → “solo” (1)" in merge for merge in report.merges)
    assert any("reviews 1 of version 100 by user 12" in merge for merge in report.merges)
    # The live counters counted each download twice; S7 counts the rows.
    assert "item 10 “Eternal”: 3,000 → 1,500" in report.count_changes
    assert Item.objects.get(pk=10).downloads_count == 1500
    assert sum(DownloadDay.objects.values_list("count", flat=True)) == 3000
    with connection.cursor() as cursor:  # rebuilt without them, then given them back
        kept = connection.introspection.get_constraints(cursor, "items_downloadday")
    assert "one_count_per_version_per_day" in kept
    assert sum(1 for found in kept.values() if found["foreign_key"]) == 2
    assert sum(1 for found in kept.values() if found["index"]) >= 4

    hamish = User.objects.get(pk=7)
    assert (hamish.username, hamish.first_name, hamish.is_staff, hamish.is_superuser) == (
        "hamish", "Hamish Sinclair", True, True,
    )  # fmt: skip
    assert Tag.objects.get(pk=1).name == "solo" and Item.objects.get(pk=11).tags.get().pk == 1
    assert len(Item.objects.get(pk=14).name) > 200  # widened, not cut
    assert Item.objects.get(pk=11).tc_id == 10
    assert Review.objects.get(version_id=100).title == "Great, on second thought"
    # A file missing from the bucket: the version keeps its link. A refused one: not ready.
    assert Version.objects.get(pk=103).link == "https://example.org/rubicon-2.1.zip"
    assert not Version.objects.get(pk=104).is_ready
    refused = client.get("/items/marathon-infinity-long/downloads/new?version=104")
    assert refused.status_code == 302 and refused["Location"] == "/items/marathon-infinity-long/"

    # A second run changes nothing.
    before = snapshot()
    again = run_import(live_site, wait=120)
    assert snapshot() == before
    assert again.files_copied == 0 and not any(again.written.values()), again.written

    # Sequences start after the imported ids.
    assert User.objects.create_user("newcomer").pk > 13
    assert Item.objects.create(name="New", owner=hamish, permalink="new-one").pk > 14

    # The old password logs in.
    settings.PASSWORD_HASHERS = LIVE_HASHERS
    response = client.post("/login/", {"username": "hamish", "password": OLD_PASSWORD})
    assert response.status_code == 302 and client.session.get("_auth_user_id") == "7"

    # Screenshots have their renditions, in the live order.
    shots = list(Item.objects.get(pk=10).screenshots.all())
    assert [(shot.pk, shot.title) for shot in shots] == [(2, ""), (1, "Arrival")]
    assert all(shot.thumb and shot.content for shot in shots)

    # Every imported file downloads with its bytes, and its SHA-256 is on the item's page once
    # the worker has read it back (after the file became ready).
    for upload in Upload.objects.filter(state="ready"):
        wait_for_sha256(upload.pk)
    page = client.get("/items/eternal/").content.decode()
    for version_id, name in ((100, "versions/100/eternal.zip"), (101, None)):
        version = Version.objects.select_related("file").get(pk=version_id)
        name = name or next(n for n in live_site.files if n.endswith("eternal-1.1.zip"))
        data = live_site.files[name]
        assert version.file.state == "ready"
        assert version.file.sha256 == hashlib.sha256(data).hexdigest()
        assert version.file.sha256 in page
        redirect = client.get(f"/items/eternal/downloads/new?version={version_id}")
        assert redirect.status_code == 302
        assert requests.get(redirect["Location"], timeout=10).content == data
    for shot, name in zip(shots, ("lobby.jpg", "arrival.png"), strict=True):
        data = next(d for n, d in live_site.files.items() if n.endswith(name))
        assert shot.upload.sha256 == hashlib.sha256(data).hexdigest()
        assert requests.get(shot.upload.download_url(), timeout=10).content == data

    # Every URL of the live site answers (or redirects to its new home) over the imported data.
    walk_the_live_site(
        item=Item.objects.get(pk=10),  # a scenario (Rubicon is made for it) with files
        reviewer=User.objects.get(pk=12),
        staff=User.objects.get(pk=7),  # as the log-in above left him (his hash upgraded)
        new_review_item=Item.objects.get(pk=10),  # tycho reviewed 1.0, not 1.1
        link_item=Item.objects.get(pk=11),
    )


def test_the_command_reports_and_a_dry_run_writes_nothing(live_site):
    live_site.fill(downloads=50)
    out = io.StringIO()

    with redirect_stdout(out):
        call_command(
            "import_simplici7y", "--source", live_site.url, "--source-bucket", live_site.bucket,
            "--dry-run", verbosity=0, stdout=out,
        )  # fmt: skip

    text = out.getvalue()
    assert "Dry run" in text and "50 download rows past id 0 would be copied" in text
    assert "versions: 4 files would be copied" in text
    assert not User.objects.exists() and not Upload.objects.exists()


def test_unknown_tables_are_refused(live_site):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown tables: widgets"):
        call_command("import_simplici7y", "--source", live_site.url, "--only", "items,widgets")


def test_changes_on_the_live_site_arrive_with_the_next_run(live_site, celery_worker):
    live_site.fill(downloads=400)
    run_import(live_site, wait=120)
    untouched = snapshot(exclude_items={10, 11})
    downloads_before = Download.objects.count()

    live_site.execute("UPDATE items_item SET name = 'Eternal 2' WHERE id = 10")
    live_site.execute(
        "INSERT INTO items_user (id, password, is_superuser, username, first_name, last_name,"
        " email, is_staff, is_active, date_joined) VALUES"
        " (20, '', false, 'newbie', 'Newbie', '', 'n@example.org', false, true, now())"
    )
    name = live_site.put_file("versions/item-10/abc/eternal-2.zip", b"PK\x05\x06" + b"\0" * 18)
    live_site.execute(
        "INSERT INTO items_version (id, item_id, name, body, file, created_at, updated_at)"
        " VALUES (105, 10, '2.0', '', %s, now(), now())",
        [name],
    )
    live_site.add_downloads(25, since="2026-01-01")
    report = run_import(live_site, wait=120)

    assert Item.objects.get(pk=10).name == "Eternal 2"
    assert User.objects.filter(username="newbie").exists()
    assert Version.objects.get(pk=105).file.filename == "eternal-2.zip"
    assert Version.objects.get(pk=105).is_ready
    assert Download.objects.count() == downloads_before + 25
    assert report.files_copied == 1
    assert report.written["users"] == 1 and report.written["downloads"] == 25
    assert report.written["items"] == 1 and report.written["versions"] == 1
    # Nothing else moved (items 10 and 11 have the new downloads, 10 the new version).
    after = snapshot(exclude_items={10, 11})
    assert {k: v for k, v in after.items() if k != "users"} == {
        k: v for k, v in untouched.items() if k != "users"
    }
    assert set(after["users"]) - set(untouched["users"]) == {
        row for row in after["users"] if row[1] == "newbie"
    }


def test_a_source_bucket_on_another_s3_is_refused(live_site):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="copied inside S3"):
        call_command(
            "import_simplici7y", "--source", live_site.url,
            "--source-endpoint", "https://s3.elsewhere.example",
        )  # fmt: skip


def test_the_source_is_opened_read_only(live_site):
    import psycopg

    from items.importer.source import connect

    with connect(live_site.url) as live, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        live.execute("INSERT INTO items_tag (name, permalink) VALUES ('x', 'x')")
