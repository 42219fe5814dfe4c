"""Markdown for item bodies, version notes and reviews: rendered, then sanitized.

Markdown lets raw HTML through by design, so the sanitizer (nh3, a binding of Rust's ammonia)
decides what survives: a small allow-list of tags, no event-handler attributes, and links only
to http(s), mailto and relative URLs, so ``javascript:`` never reaches a page.
"""

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> SafeString:
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )
    return mark_safe(clean)  # noqa: S308 (sanitized just above)
