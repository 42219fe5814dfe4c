import pytest
from django.test import Client

from items.markup import render_markdown
from tests.fixtures.site import make_item


def test_it_renders_markdown():
    html = render_markdown("# Title\n\n**bold** and [a link](https://example.org)")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html


def test_it_removes_script_tags():
    html = render_markdown("before <script>alert('pwned')</script> after")
    assert "<script" not in html.lower()
    assert "before" in html and "after" in html


def test_it_removes_event_handlers():
    html = render_markdown('<img src="x.png" onerror="alert(1)"> <p onclick="alert(2)">hi</p>')
    assert "onerror" not in html and "onclick" not in html
    assert "<img" in html


def test_it_removes_javascript_links():
    for source in ["[click](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>',
                   '<a href="JaVaScRiPt:alert(1)">x</a>', "[x](  javascript:alert(1))"]:  # fmt: skip
        assert "javascript:" not in render_markdown(source).lower(), source


@pytest.mark.django_db
def test_an_item_page_shows_hostile_markdown_harmlessly(alice):
    item = make_item(
        alice,
        "Hostile",
        body="<script>steal()</script>\n\n<img src=x onerror=steal()>\n\n[win](javascript:steal())",
    )
    page = Client().get(f"/items/{item.permalink}/").content.decode()
    body = page.split('class="body markdown">')[1].split("</div>")[0]
    assert "<script" not in body
    assert "onerror" not in body
    assert "javascript:" not in body
