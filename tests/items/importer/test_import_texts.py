"""The importer's texts: the live site's Markdown arrives rendered, and a text that cannot be
rendered is shown as plain text rather than failing a page."""

import pytest
from django.test import Client

from items.importer.context import Options
from items.importer.run import import_live_site
from items.models import Item

pytestmark = pytest.mark.django_db(transaction=True)

NESTED_LIST_MARKERS = "- " * 700 + "a"


def test_imported_texts_are_rendered_once_at_the_end_of_the_rows(live_site):
    live_site.fill(downloads=10)
    live_site.execute("UPDATE items_item SET body = %s WHERE id = 11", [NESTED_LIST_MARKERS])

    report = import_live_site(
        Options(
            source_url=live_site.url, bucket=live_site.bucket, quiet=True,
            only=("users", "tags", "items"),
        )
    )  # fmt: skip

    assert "texts" in report.step_seconds
    assert Item.objects.get(pk=10).body_html == "<p>The <strong>long</strong> story.</p>\n"
    deep = Item.objects.get(pk=11)
    assert deep.body_html.startswith("<p>- - - ")
    assert Client().get(deep.get_absolute_url()).status_code == 200
    assert not Item.objects.filter(body_html__isnull=True).exists()


def test_a_live_text_changed_since_the_last_run_arrives_rendered_again(live_site):
    live_site.fill(downloads=10)
    options = Options(
        source_url=live_site.url, bucket=live_site.bucket, quiet=True,
        only=("users", "tags", "items"),
    )  # fmt: skip
    import_live_site(options)
    live_site.execute("UPDATE items_item SET body = 'The *short* story.' WHERE id = 10")

    import_live_site(options)

    assert Item.objects.get(pk=10).body_html == "<p>The <em>short</em> story.</p>\n"
