"""Markdown in bodies, notes and reviews: sanitized, rendered once when saved, bounded in length,
refused with a sentence when it cannot be rendered, and never able to make a page fail."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from bench.rendering import hostile_texts
from items import markup, services
from items.markup import UnrenderableText, render_markdown
from items.models import (
    ITEM_BODY_MAX_LENGTH,
    ITEM_TOPNOTE_MAX_LENGTH,
    REVIEW_BODY_MAX_LENGTH,
    VERSION_NOTES_MAX_LENGTH,
    Download,
    Item,
    Review,
    Screenshot,
    Tag,
    User,
    Version,
)
from tests.fixtures.site import client_for, make_item

# Python-Markdown raised RecursionError on this, and every page showing it answered 500.
NESTED_LIST_MARKERS = "- " * 700 + "a"


# --- Sanitizing ----------------------------------------------------------------------------


def test_it_renders_markdown():
    html = render_markdown("# Title\n\n**bold** and [a link](https://example.org)")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html


def test_it_renders_tables_and_strikethrough_as_before():
    html = render_markdown("|a|b|\n|:-|-:|\n|1|2|\n\n~~gone~~")
    assert '<th style="text-align: left">a</th>' in html and "<td" in html
    assert "<del>gone</del>" in html


def test_it_removes_script_tags():
    html = render_markdown("before <script>alert('pwned')</script> after")
    assert "<script" not in html.lower()
    assert "before" in html and "after" in html


def test_it_removes_event_handlers():
    html = render_markdown(
        '<img src="https://e.org/x.png" onerror="alert(1)"> <p onclick="alert(2)">hi</p>'
    )
    assert "onerror" not in html and "onclick" not in html
    assert "<img" in html


def test_it_removes_javascript_links():
    for source in ["[click](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>',
                   '<a href="JaVaScRiPt:alert(1)">x</a>', "[x](  javascript:alert(1))"]:  # fmt: skip
        assert "javascript:" not in render_markdown(source).lower(), source


def test_styles_other_than_a_table_columns_alignment_are_removed():
    html = render_markdown(
        '<table><tr><td style="background:url(https://e.org/t)">x</td></tr></table>'
    )
    assert "style" not in html and "x" in html


# --- Images ----------------------------------------------------------------------------------


def test_images_come_only_from_https():
    html = render_markdown(
        "![a](https://e.org/a.png) ![b](http://e.org/b.png) ![c](/local.png) "
        "![d](data:image/png;base64,AAAA) ![e](//e.org/e.png)"
    )
    assert html.count("src=") == 1
    assert 'src="https://e.org/a.png"' in html


def test_a_download_link_used_as_an_image_loses_its_source():
    for url in [
        "https://s7.example/items/eternal/downloads/new?version=3",
        "https://simplici7y.com/items/eternal/download",
        "HTTPS://s7.example/items/eternal/downloads/new",
    ]:
        html = render_markdown(f"![x]({url}) and <img src='{url}'>")
        assert "src=" not in html, url
    assert "src=" in render_markdown("![x](https://s7.example/items/eternal/)")


@pytest.mark.django_db
def test_fetching_a_download_link_as_an_image_neither_counts_nor_spends_the_allowance(
    alice, settings
):
    settings.ITEMS_RATE_DOWNLOAD = "2/min"
    item = make_item(alice, "Eternal")
    url = f"/items/{item.permalink}/downloads/new"
    browser = Client()

    for headers in [{"Sec-Fetch-Dest": "image"}] * 3 + [
        {"Accept": "image/avif,image/webp,*/*"}
    ] * 3:  # an older browser sends no Sec-Fetch-Dest
        assert browser.get(url, headers=headers).status_code == 403

    assert Download.objects.count() == 0
    for _ in range(2):
        visit = browser.get(url, headers={"Sec-Fetch-Dest": "document", "Accept": "text/html"})
        assert visit.status_code == 200  # the page that says where the link leads
    assert Download.objects.count() == 1  # one visitor counts once a day


# --- Hostile texts: linear, or refused with a sentence ---------------------------------------


def test_the_nested_brackets_that_took_python_markdown_seconds_render():
    html = render_markdown("[" * 4000 + "a" + "]" * 4000)
    assert "a" in html


def test_nested_list_markers_that_made_python_markdown_recurse_are_refused_with_a_sentence():
    with pytest.raises(UnrenderableText, match="nests more than 64 levels deep"):
        render_markdown(NESTED_LIST_MARKERS)


def test_every_hostile_text_of_the_longest_body_renders_or_is_refused_with_a_sentence():
    outcomes = {}
    for name, text in hostile_texts(ITEM_BODY_MAX_LENGTH).items():
        assert len(text) == ITEM_BODY_MAX_LENGTH, name
        try:
            html = render_markdown(text)
        except UnrenderableText as error:
            assert str(error).endswith(".") and "please" in str(error), name
            outcomes[name] = "refused"
        else:
            # The stored HTML stays within a small multiple of the text.
            assert len(html) <= markup.MAX_EXPANSION * len(text) + markup.EXPANSION_ALLOWANCE
            outcomes[name] = "rendered"
    assert outcomes["nested brackets [[[…a…]]]"] == "rendered"
    assert outcomes["link chain [a](b)[a](b)…"] == "rendered"
    assert outcomes["nested lists (- - - … a)"] == "refused"
    assert outcomes["raw HTML <b id=n> reopened per paragraph"] == "refused"
    assert outcomes["wide table, short rows"] == "refused"


def test_formatting_tags_left_open_are_refused_but_closed_ones_are_not():
    with pytest.raises(UnrenderableText, match="formatting tags"):
        render_markdown("<p>" + "".join(f"<b id={n}>" for n in range(40)) + "</p>" + "<p>x" * 50)
    assert render_markdown("<b>a</b> " * 500).count("<b>") == 500


def test_paragraphs_and_list_items_left_open_in_raw_html_are_not_counted_as_nesting():
    assert render_markdown("<p>one" * 200).count("<p>") == 200
    assert render_markdown("<ul>" + "<li>x" * 200 + "</ul>").count("<li>") == 200


# --- Lengths -------------------------------------------------------------------------------


def test_every_text_field_has_a_maximum_length_the_model_checks():
    fields = {
        (Item, "body"): ITEM_BODY_MAX_LENGTH,
        (Item, "topnote"): ITEM_TOPNOTE_MAX_LENGTH,
        (Version, "notes"): VERSION_NOTES_MAX_LENGTH,
        (Review, "body"): REVIEW_BODY_MAX_LENGTH,
    }
    for (model, name), limit in fields.items():
        field = model._meta.get_field(name)
        assert field.max_length == limit
        field.run_validators("x" * limit)
        with pytest.raises(ValidationError, match="at most"):
            field.run_validators("x" * (limit + 1))
    for model in (Item, Version, Review, Screenshot, Tag, User):
        for field in model._meta.get_fields():
            if field.get_internal_type() in ("CharField", "TextField") and field.editable:
                assert field.max_length, f"{model.__name__}.{field.name} has no maximum length"


@pytest.mark.django_db
def test_a_body_one_character_too_long_is_a_form_error_and_changes_nothing(alice):
    item = make_item(alice, "Eternal", body="Short.")
    page = client_for(alice).post(
        f"/items/{item.permalink}/edit",
        {"name": "Eternal", "permalink": item.permalink, "body": "x" * (ITEM_BODY_MAX_LENGTH + 1)},
    )
    assert page.status_code == 200
    assert f"at most {ITEM_BODY_MAX_LENGTH:,}".replace(",", "") in page.content.decode().replace(
        ",", ""
    )
    item.refresh_from_db()
    assert item.body == "Short."


@pytest.mark.django_db
def test_the_form_tells_the_browser_the_maximum_length(alice):
    item = make_item(alice, "Eternal")
    page = client_for(alice).get(f"/items/{item.permalink}/edit").content.decode()
    assert f'maxlength="{ITEM_BODY_MAX_LENGTH}"' in page
    assert f'maxlength="{ITEM_TOPNOTE_MAX_LENGTH}"' in page


@pytest.mark.django_db
def test_the_api_schema_documents_each_texts_maximum_length(anonymous_api):
    schema = anonymous_api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schema["Item"]["properties"]["body"]["maxLength"] == ITEM_BODY_MAX_LENGTH
    assert schema["Item"]["properties"]["topnote"]["maxLength"] == ITEM_TOPNOTE_MAX_LENGTH
    assert schema["Version"]["properties"]["notes"]["maxLength"] == VERSION_NOTES_MAX_LENGTH
    assert schema["Review"]["properties"]["body"]["maxLength"] == REVIEW_BODY_MAX_LENGTH
    assert schema["Review"]["properties"]["title"]["maxLength"] == 255


# --- Refused at save -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_review_that_cannot_be_rendered_is_a_form_error_and_nothing_is_saved(alice, bob):
    item = make_item(alice, "Eternal")
    page = client_for(bob).post(
        f"/items/{item.permalink}/reviews/new",
        {
            "version": item.versions.get().pk,
            "rating": "4",
            "title": "Deep",
            "body": NESTED_LIST_MARKERS,
        },
    )
    assert page.status_code == 200
    assert "nests more than 64 levels deep" in page.content.decode()
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_version_notes_that_cannot_be_rendered_are_a_form_error(alice):
    item = make_item(alice, "Eternal")
    page = client_for(alice).post(
        f"/items/{item.permalink}/versions/new",
        {"name": "2.0", "link": "https://example.org/2.zip", "notes": "> " * 100 + "a"},
    )
    assert page.status_code == 200
    assert "nests more than 64 levels deep" in page.content.decode()
    assert item.versions.count() == 1


# --- Rendered once, stored, and no page can fail -------------------------------------------------


@pytest.mark.django_db
def test_the_html_is_stored_when_the_text_is_saved_and_follows_an_edit(alice, bob):
    item = make_item(alice, "Eternal", body="The **long** story.")
    assert item.body_html == "<p>The <strong>long</strong> story.</p>\n"
    review = services.review_create(
        version=item.versions.get(), user=bob, title="Good", body="*Liked* it.", rating=4
    )
    assert review.body_html == "<p><em>Liked</em> it.</p>\n"
    review.body = "Loved it."
    services.review_update(review=review)
    review.refresh_from_db()
    assert review.body_html == "<p>Loved it.</p>\n"


@pytest.mark.django_db
def test_pages_show_the_stored_html_without_rendering(alice, bob, monkeypatch):
    item = make_item(alice, "Eternal", body="The **long** story.")
    services.review_create(
        version=item.versions.get(), user=bob, title="Good", body="*Liked* it.", rating=4
    )

    # A parser that fails shows that no page renders: pages read the stored HTML only.
    class FailingParser:
        def html(self, text):
            raise AssertionError("a page rendered Markdown")

    monkeypatch.setattr(markup, "_MARKDOWN", FailingParser())
    for path in [item.get_absolute_url(), "/reviews/", "/items.rss", "/reviews.rss"]:
        page = Client().get(path)
        assert page.status_code == 200, path
    assert "<strong>long</strong>" in Client().get(item.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_stored_text_that_cannot_be_rendered_shows_as_plain_text_on_every_page(alice, bob):
    # Written past the forms, as the importer writes the live site's texts.
    item = make_item(alice, "Eternal")
    Item.objects.filter(pk=item.pk).update(body=NESTED_LIST_MARKERS, body_html=None)
    review = Review.objects.create(
        version=item.versions.get(),
        user=bob,
        title="Deep",
        body=NESTED_LIST_MARKERS + " <b>",
        rating=2,
    )
    assert review.body_html.startswith("<p>- - - ")
    assert "&lt;b&gt;" in review.body_html

    for path in [item.get_absolute_url(), "/reviews/", review.get_absolute_url(),
                 "/items.rss", "/reviews.rss", f"/users/{bob.username}/"]:  # fmt: skip
        page = Client().get(path)
        assert page.status_code == 200, path
    assert "- - - - a" in Client().get(item.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_rows_written_without_html_get_it_from_one_call(alice, bob):
    item = make_item(alice, "Eternal", body="The **long** story.")
    version = item.versions.get()
    Version.objects.filter(pk=version.pk).update(notes="*New*", notes_html=None)
    review = services.review_create(version=version, user=bob, title="Deep", body="x", rating=2)
    Review.objects.filter(pk=review.pk).update(body=NESTED_LIST_MARKERS, body_html=None)
    Item.objects.filter(pk=item.pk).update(body_html=None)

    page = Client().get(item.get_absolute_url()).content.decode()
    assert "The **long** story." in page  # plain until rendered, never a failure

    assert services.render_missing_html() == (3, 1)
    item.refresh_from_db(), version.refresh_from_db(), review.refresh_from_db()
    assert item.body_html == "<p>The <strong>long</strong> story.</p>\n"
    assert version.notes_html == "<p><em>New</em></p>\n"
    assert review.body_html.startswith("<p>- - - ")
    assert services.render_missing_html() == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_stores_the_html_of_existing_rows(alice):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("items", "0007_widen_to_live_lengths")],
        [("items", "0008_markdown_stored_as_html")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldItem = old.get_model("items", "Item")
    OldItem.objects.create(owner_id=alice.pk, name="Old", permalink="old", body="**Old**")
    OldItem.objects.create(
        owner_id=alice.pk, name="Deep", permalink="deep", body=NESTED_LIST_MARKERS
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)

    assert Item.objects.get(permalink="old").body_html == "<p><strong>Old</strong></p>\n"
    assert Item.objects.get(permalink="deep").body_html.startswith("<p>- - - ")


@pytest.mark.django_db
def test_the_list_of_reviews_shows_an_excerpt_stored_at_save_with_its_tags_closed(alice, bob):
    item = make_item(alice, "Eternal")
    words = [f"w{n}" for n in range(100)]
    review = services.review_create(
        version=item.versions.get(),
        user=bob,
        title="Long",
        body="**" + " ".join(words) + "**",
        rating=4,
    )
    assert review.body_excerpt_html == "<p><strong>" + " ".join(words[:60]) + " …</strong></p>"

    page = Client().get("/reviews/").content.decode()
    assert "w59 …" in page and "w60" not in page
    assert "w99" in Client().get(item.get_absolute_url()).content.decode()


def test_a_table_whose_header_is_far_wider_than_its_rows_is_refused_but_a_full_one_renders():
    with pytest.raises(UnrenderableText, match="more cells than its rows fill"):
        render_markdown("|" + "a|" * 500 + "\n|" + "-|" * 500 + "\n" + "a\n" * 2000)
    full = "|" + "h|" * 10 + "\n|" + "-|" * 10 + "\n" + ("|" + "x|" * 10 + "\n") * 1400
    assert render_markdown(full).count("<td>") == 14_000


def test_the_api_serializers_refuse_a_text_too_long_or_that_cannot_be_rendered():
    # The site's API only reads today; its serializers carry the model's rules, so that any
    # write it gains answers 400 with the same sentences.
    from items.api import ReviewSerializer

    for body, message in [
        ("x" * (REVIEW_BODY_MAX_LENGTH + 1), "no more than 8000 characters"),
        (NESTED_LIST_MARKERS, "nests more than 64 levels deep"),
    ]:
        serializer = ReviewSerializer(data={"title": "t", "body": body, "rating": 3, "version": 1})
        serializer.fields["version"].queryset = Version.objects.none()
        assert not serializer.is_valid()
        assert message in str(serializer.errors["body"][0])
