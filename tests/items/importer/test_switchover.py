"""The switch-over as the README tells it: a bulk import, a rehearsal on S7, a day on the live
site, the final delta (marked), and runs after it."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from items.importer.guard import ImportRefused
from items.importer.ledger import S7_IDS_FROM
from items.models import Download, Item, Review, Screenshot, Tag, User, Version
from tests.fixtures.live_site import OLD_PASSWORD, rehearse, run_import
from tests.fixtures.snapshots import snapshot

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]


def test_the_final_delta_after_a_rehearsal_keeps_both_sides_and_collides_with_nothing(
    live_site, celery_worker, client, settings
):
    settings.PASSWORD_HASHERS = LIVE_HASHERS
    live_site.fill(downloads=300)
    run_import(live_site)
    rehearsal = rehearse(client)
    upgraded_hash = User.objects.get(pk=7).password
    live_site.a_live_day()

    report = run_import(live_site, switch_over=True)

    # Every live row, with its live id: the day's downloads took ids S7 never hands out.
    assert Download.objects.filter(pk__lt=S7_IDS_FROM).count() == live_site.scalar(
        "SELECT count(*) FROM items_download"
    )
    assert User.objects.get(pk=20).first_name == "Newbie on the live site"
    assert Item.objects.get(pk=15).permalink == "phobos"
    assert Version.objects.get(pk=105).file.state == "ready"
    assert Item.objects.get(pk=15).screenshots.get().pk == 3
    assert Tag.objects.get(pk=6).name == "coop"
    # The rehearsal's rows stay, in S7's own range, renamed where the live site took the name.
    assert min(vars(rehearsal).values()) >= S7_IDS_FROM
    newbie = User.objects.get(pk=rehearsal.signup)
    assert newbie.username == f"newbie-{rehearsal.signup}"
    assert check_password("s7-newbie-pw-9", newbie.password)
    assert Item.objects.get(pk=rehearsal.item).permalink == f"phobos-{rehearsal.item}"
    assert Version.objects.get(pk=rehearsal.version).file.state == "ready"
    assert Download.objects.filter(pk=rehearsal.download, version_id=100).exists()
    assert Review.objects.filter(pk=rehearsal.review).exists()
    # An S7 tag the live site then made is the live tag, with the S7 item's tag too.
    assert not Tag.objects.filter(pk=rehearsal.tag).exists()
    assert set(Tag.objects.get(pk=6).items.values_list("pk", flat=True)) == {15, rehearsal.item}
    # One review per member per version: the newest (the live site's) stays.
    assert not Review.objects.filter(pk=rehearsal.doomed_review).exists()
    assert Review.objects.get(pk=4).title == "Said on the live site"
    # S7's changes are kept where the live site did not change the same column.
    hamish = User.objects.get(pk=7)
    assert hamish.password == upgraded_hash and hamish.last_login.year >= 2026
    assert hamish.email == "hamish@new.example.org"  # the live site changed it
    assert not hamish.is_superuser and hamish.is_staff  # demoted on S7
    assert User.objects.get(pk=12).first_name == "Tycho, renamed on S7"
    assert Item.objects.get(pk=11).byline == "Edited on S7"
    assert Item.objects.get(pk=10).name == "Eternal X"
    assert not Review.objects.filter(pk=3).exists()  # deleted on S7, not brought back
    assert not Screenshot.objects.filter(pk=1).exists()
    assert report.files_copied == 3  # the day's: versions 105 and 106, screenshot 3
    # Counts include both sides' downloads.
    assert (
        Version.objects.get(pk=100).downloads_count
        == Download.objects.filter(version_id=100).count()
    )
    # The report says all of it.
    text = report.text()
    assert f"user {rehearsal.signup}, made on S7: username “newbie” is the live site's" in text
    assert f"item {rehearsal.item}, made on S7: permalink “phobos”" in text
    assert f"tag {rehearsal.tag} “coop”, made on S7, into the live site's tag 6" in text
    assert f"review {rehearsal.doomed_review} made on S7 and review 4" in text
    assert "user 7 “hamish”: password, is_superuser, last_login" in text
    assert "reviews deleted on S7 since they were imported, not brought back: 3" in text
    assert "screenshots deleted on S7 since they were imported, not brought back: 1" in text
    assert "item 16: permalink “Lh'owon station” is not a slug; “lhowon-station” used" in text
    assert "version 106: link “javascript:alert(document.cookie)” is not http(s) or ftp" in text
    assert "versions with neither a file nor a link S7 can serve: 107" in text
    assert "switched over at" in text

    # The item with the fixed permalink shows in the lists, and its old neighbours too.
    assert client.get("/").status_code == 200
    assert client.get("/items/lhowon-station/").status_code == 200

    # After the switch-over a run is refused, saying why; told explicitly, it writes nothing.
    before = snapshot()
    with pytest.raises(ImportRefused, match="site of record"):
        run_import(live_site)
    again = run_import(live_site, after_switch_over=True)
    assert not any(again.written.values()), again.written
    assert again.files_copied == 0
    assert snapshot() == before
    settings.PASSWORD_HASHERS = LIVE_HASHERS
    assert client.post("/login/", {"username": "hamish", "password": OLD_PASSWORD}).status_code


def test_the_command_refuses_a_run_after_the_switch_over_and_says_why(live_site):
    live_site.fill(downloads=20)
    arguments = [
        "import_simplici7y",
        "--source",
        live_site.url,
        "--source-bucket",
        live_site.bucket,
    ]
    call_command(*arguments, "--switch-over", "--wait", "0", verbosity=0)

    with pytest.raises(CommandError, match="--after-switch-over") as refused:
        call_command(*arguments, "--wait", "0", verbosity=0)

    assert "S7 is the site of record" in str(refused.value)
    call_command(*arguments, "--wait", "0", "--after-switch-over", verbosity=0)


def test_a_first_import_into_an_s7_already_in_use_is_refused(live_site):
    live_site.fill(downloads=20)
    User.objects.create_user("early-bird", id=1)  # as a fresh S7 numbers its first member

    with pytest.raises(ImportRefused, match=r"S7 already holds rows the import did not write"):
        run_import(live_site)

    assert not Item.objects.exists()


def test_live_values_are_checked_fixed_or_left_out_and_listed(live_site, client):
    live_site.fill(downloads=20)
    live_site.execute(
        "INSERT INTO items_user (id, password, is_superuser, username, first_name, last_name,"
        " email, is_staff, is_active, date_joined) VALUES"
        " (30, '', true, 'old/admin', '', '', 'o@example.org', true, true, '1970-01-01+00'),"
        " (31, '', false, 'later', '', '', 'l@example.org', false, true, '2999-01-01+00')"
    )
    live_site.execute(
        "INSERT INTO items_item (id, name, body, user_id, permalink, created_at, updated_at)"
        " VALUES (20, 'Évasion', '', 7, 'évasion / 2', now(), now()),"
        " (21, 'New', '', 7, 'new', now(), now())"
    )
    live_site.execute(
        "INSERT INTO items_version (id, item_id, name, body, link, created_at, updated_at)"
        " VALUES (120, 20, '1', '', 'javascript:alert(1)', now(), now()),"
        " (121, 20, '2', '', 'ftp://ftp.example.org/e.zip', now(), now()),"
        " (122, 21, '1', '', 'https://example.org/n.zip', now(), now())"
    )
    live_site.execute(
        "INSERT INTO items_download (user_id, version_id, created_at, updated_at) VALUES"
        " (7, 121, '2999-01-01+00', now())"
    )

    report = run_import(live_site, wait=0)

    text = report.text()
    assert "Checked, not trusted" in text
    assert "item 20: permalink “évasion / 2” is not a slug; “evasion-2” used" in text
    assert "item 21: permalink “new” is one of S7's own pages; “new-21” used" in text
    assert "version 120: link “javascript:alert(1)” is not http(s) or ftp; left out" in text
    assert "versions with neither a file nor a link S7 can serve: 120" in text
    assert "user 30: username “old/admin” cannot be in a URL; “old-admin” used" in text
    assert "user 30 “old-admin”: staff and superuser on the live site but without a usable" in text
    assert "user 7 “hamish”: staff and superuser on the live site; kept" in text
    assert "user 30: date 1970-01-01 00:00 is absurd; 1995-01-01 00:00 kept" in text
    assert "user 31: date 2999-01-01 00:00 is absurd" in text
    assert "1 download rows dated before 1995-01-01 or after the run's start" in text
    old_admin = User.objects.get(pk=30)
    assert (old_admin.username, old_admin.is_staff, old_admin.is_superuser) == (
        "old-admin", False, False,
    )  # fmt: skip
    assert not Version.objects.filter(pk=120).exists()
    assert Version.objects.get(pk=121).link == "ftp://ftp.example.org/e.zip"
    assert Download.objects.get(version_id=121).created_at <= timezone.now()
    # Every list holding the items answers, and the items answer at their new addresses.
    assert client.get("/").status_code == 200
    assert client.get("/users/hamish/").status_code == 200
    assert client.get("/items/evasion-2/").status_code == 200
    assert client.get("/users/old-admin/").status_code == 200


def test_files_are_verified_by_the_import_itself_without_a_worker(live_site):
    live_site.fill(downloads=10)

    report = run_import(live_site, wait=0)

    # No worker runs in this test: the import verified every file it copied.
    assert report.files_copied == 4 and report.files_verified_here == 4
    assert report.files_pending == 0
    assert Version.objects.get(pk=100).file.state == "ready"
    assert Item.objects.get(pk=10).screenshots.count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM uploads_upload WHERE state = 'processing'")
        assert cursor.fetchone()[0] == 0
