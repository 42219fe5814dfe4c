"""An import killed midway (SIGKILL, as a dyno dies) and run again ends where one clean run
ends."""

import pytest
from django.db import connection

from items.importer.context import Options
from items.importer.downloads import foreign_keys, plain_indexes
from items.importer.run import import_live_site
from items.models import Download
from tests.fixtures.live_site import KILLED, start_import
from tests.fixtures.snapshots import snapshot

pytestmark = pytest.mark.django_db(transaction=True)

IMPORTED_TABLES = [
    "items_downloadday", "items_download", "items_review", "items_screenshot", "items_version",
    "items_item_tags", "items_item", "items_tag", "simplici7y_import_importedfile",
    "simplici7y_import_importmark", "simplici7y_import_importedrow", "uploads_upload",
    "items_user",
]  # fmt: skip


def test_an_import_killed_midway_continues_to_the_same_end(live_site, celery_worker):
    live_site.fill(downloads=5000)

    killed = start_import(
        live_site,
        S7_TEST_BATCH_IDS=1000,
        S7_TEST_KILL_AFTER_ROWS=2000,
        S7_TEST_UNCHECKED_FROM_ROWS=1000,  # a bulk copy: keys and indexes dropped meanwhile
    )
    output = killed.communicate(timeout=300)[0].decode()

    assert killed.returncode == KILLED, output
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM items_download")
        assert cursor.fetchone()[0] == 2000  # two batches committed, then the kill
    # Killed while the keys and indexes were dropped.
    assert set(foreign_keys(Download)) == set() and set(plain_indexes(Download)) == set()
    import_live_site(
        Options(source_url=live_site.url, bucket=live_site.bucket, wait=300, quiet=True)
    )
    resumed = snapshot()
    assert set(foreign_keys(Download)) == {"version_id", "user_id"}
    assert set(plain_indexes(Download)) == {"version_id", "user_id", "created_at"}

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(IMPORTED_TABLES)} CASCADE")
    import_live_site(
        Options(source_url=live_site.url, bucket=live_site.bucket, wait=300, quiet=True)
    )

    assert snapshot() == resumed
    assert resumed["downloads"][0][0] == "5000"
