"""Markdown for item bodies, version notes and reviews: rendered once, when the text is saved,
sanitized, and stored beside the text, so that no page renders anything.

Every step costs time linear in the text, since a save that takes seconds is as much an attack
as a page that does:

- pulldown-cmark (through pyromark) parses CommonMark with tables and strikethrough in linear
  time, without recursion; its authors test pathological inputs for it. (Python-Markdown's
  regular expressions backtrack, and its parser recurses once per nested list.)
- nh3 (Rust's ammonia on html5ever) decides what survives: a small allow-list of tags, no
  event-handler attributes, links only to http(s), mailto and relative URLs, images only from
  https and never from a download link. HTML's tree construction walks the stack of open
  elements for each tag and reopens unclosed formatting elements for each new block, so HTML
  that nests deep or leaves ``<b>`` open costs the square of its length there (each
  ``<b id=n>`` left open is copied into every later paragraph). Before nh3 sees the HTML, one pass over
  its tags (``_check_shape``) refuses a text that nests deeper than ``MAX_DEPTH`` or keeps more
  than ``MAX_OPEN_FORMATTING`` formatting elements open, and a text whose HTML would be more than
  ``MAX_EXPANSION`` times its length; a table whose header is far wider than its rows is
  refused before it is parsed (every row is padded to the header).

A text refused here cannot be saved through a form (``validate_markdown``); one that reaches the
database by another road (the importer keeps the live site's texts whole) is shown as plain text
(``render_or_plain``), so that no stored text can make a page fail.
"""

import re
from urllib.parse import urlsplit

import nh3
import pyromark
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "style"},
    "td": {"align", "style"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Deeper than any list in a blockquote a person writes; HTML's own parsers stop at 512.
MAX_DEPTH = 64
# ``***[**~~`x`~~**](y)***`` keeps seven open; each one left open is copied into every block
# that follows it.
MAX_OPEN_FORMATTING = 16
# A text of nothing but ``"`` is six times longer as HTML (``&quot;``), a padded table row a
# little more; twenty times is not a text people write.
MAX_EXPANSION = 20
EXPANSION_ALLOWANCE = 2048

# Views an <img> must never fetch: each fetch would count a download and spend the viewer's
# allowance.
DOWNLOAD_VIEWS = frozenset({"download", "download_moved"})

# HTML's formatting elements: the ones its parser reopens when a block ends with them open.
_FORMATTING = frozenset(
    {
        "a",
        "b",
        "big",
        "code",
        "em",
        "font",
        "i",
        "nobr",
        "s",
        "small",
        "strike",
        "strong",
        "tt",
        "u",
    }
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr", "keygen", "basefont", "bgsound", "frame", "image"}
)  # fmt: skip
# A start tag of one of these closes an open one of the same name directly above it.
_CLOSED_BY_SIBLING = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option"})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")

# A table's delimiter row (``|---|:-:|``) fixes its width; every later row is padded to it.
# One character class, no nested repetition: a pattern of cells would backtrack exponentially.
_TABLE_DELIMITER_ROW = re.compile(r"^(?=[^\n]*-)(?=[^\n]*\|)[|:\- \t]+$", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n[ \t]*(?:\n|$)")
# Cells a table may have per character of the text: a full row has a character per cell, a
# short row is padded.
MAX_CELLS_PER_CHARACTER = 4

_MARKDOWN = pyromark.Markdown(
    options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
)


class UnrenderableText(ValueError):
    """The text cannot be rendered within the limits; the message says why, to its author."""


def _image_source(src: str) -> str | None:
    if not src.strip().lower().startswith("https://"):
        return None
    try:
        match = resolve(urlsplit(src.strip()).path)
    except Resolver404:
        return src
    return None if match.url_name in DOWNLOAD_VIEWS else src


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return _image_source(value)
    if attribute == "style":
        # Tables' column alignment is the only style kept (pulldown-cmark writes it so).
        return (
            value
            if value in {"text-align: left", "text-align: center", "text-align: right"}
            else None
        )
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel="nofollow noopener noreferrer",
    attribute_filter=_attribute_filter,
)


def _check_shape(html: str) -> None:
    """Refuse HTML that would make the sanitizer's parser slow.

    The count errs on the deep side: an end tag closes only the element directly above it, and
    a formatting element stays counted until its own end tag comes, so the parser's stack of
    open elements is never deeper than this count allows, whatever the HTML."""
    stack: list[str] = []
    formatting = 0
    for closing, name in _TAG.findall(html):
        name = name.lower()
        if closing:
            if stack and stack[-1] == name:
                stack.pop()
                if name in _FORMATTING:
                    formatting -= 1
        elif name in _VOID or (name in _CLOSED_BY_SIBLING and stack and stack[-1] == name):
            continue
        else:
            stack.append(name)
            if name in _FORMATTING:
                formatting += 1
                if formatting > MAX_OPEN_FORMATTING:
                    raise UnrenderableText(
                        f"This text leaves more than {MAX_OPEN_FORMATTING} HTML formatting tags "
                        "(<b>, <i>, <a>…) open; please close them."
                    )
            elif len(stack) > MAX_DEPTH:
                raise UnrenderableText(
                    f"This text nests more than {MAX_DEPTH} levels deep (lists, quotes or HTML "
                    "tags inside one another); please flatten it."
                )


def _check_tables(text: str) -> None:
    """Refuse tables whose padding would make their HTML far longer than the text, before the
    parser writes it."""
    cells = position = 0
    # Each table is counted from its delimiter row to the blank line that ends it, and the
    # search goes on after that line, so that every character is read once.
    while row := _TABLE_DELIMITER_ROW.search(text, position):
        blank = _BLANK_LINE.search(text, row.end())
        position = blank.end() if blank else len(text)
        rows = text.count("\n", row.end(), position)
        cells += (row.group().count("|") + 1) * (rows + 2)
    if cells > MAX_CELLS_PER_CHARACTER * len(text) + 1000:
        raise UnrenderableText(
            "This text has a table of more cells than its rows fill (a wide header over short "
            "rows); please give each row its cells."
        )


def render_markdown(text: str) -> SafeString:
    """Sanitized HTML of ``text``, or UnrenderableText saying what to change."""
    text = text or ""
    _check_tables(text)
    html = _MARKDOWN.html(text)
    if len(html) > MAX_EXPANSION * len(text) + EXPANSION_ALLOWANCE:
        raise UnrenderableText(
            "This text would make too much HTML for its length (a table with many columns "
            "and short rows?); please shorten it."
        )
    _check_shape(html)
    return mark_safe(_CLEANER.clean(html))  # noqa: S308 (sanitized just above)


def validate_markdown(text: str) -> None:
    """The model's validator: a form or serializer refuses what cannot be rendered."""
    try:
        render_markdown(text)
    except UnrenderableText as error:
        raise ValidationError(str(error), code="unrenderable") from error


def render_plain(text: str) -> SafeString:
    """The text escaped, in paragraphs: what a text that cannot be rendered is shown as."""
    return linebreaks(escape(text or ""))


def render_or_plain(text: str) -> SafeString:
    try:
        return render_markdown(text)
    except UnrenderableText:
        return render_plain(text)


# A tag runs to its ">" or, were one missing, to the end: never scanned twice.
_TAG_OR_TEXT = re.compile(r"<[^>]*(?:>|$)|[^<]+")
_WORD = re.compile(r"\S+")


def excerpt(html: str, words: int | None) -> SafeString:
    """The first ``words`` words of sanitized ``html`` (all of it for None), its open tags
    closed: cut once when the text is saved, since Django's truncatewords_html parses the
    whole HTML in Python on every view of a list."""
    if words is None:
        return mark_safe(html)  # noqa: S308 (sanitized already)
    seen, cut = 0, None
    for part in _TAG_OR_TEXT.finditer(html):
        if part.group().startswith("<"):
            continue
        for word in _WORD.finditer(part.group()):
            if cut is not None:
                # More follows: the parser closes what the cut leaves open.
                return mark_safe(_CLEANER.clean(html[:cut] + " …"))  # noqa: S308 (sanitized here)
            seen += 1
            if seen == words:
                cut = part.start() + word.end()
    return mark_safe(html)  # noqa: S308 (sanitized already)


def fill_missing_html(
    model, rendered: dict[str, tuple[str, int | None]], *, batch_size: int = 500
) -> tuple[int, int]:
    """Store the HTML of each row of ``model`` that lacks it (``rendered``: HTML field → (text
    field, words), as ``RenderedMarkdown.RENDERED``; the model may be a migration's historical
    one). Answers (HTML fields filled, of which with plain text because the text cannot be
    rendered)."""
    filled = plain = 0
    for target, (source, words) in rendered.items():
        missing = model.objects.filter(**{f"{target}__isnull": True}).only("pk", source)
        while batch := list(missing[:batch_size]):
            for row in batch:
                text = getattr(row, source)
                try:
                    html = render_markdown(text)
                except UnrenderableText:
                    html = render_plain(text)
                    plain += 1
                setattr(row, target, str(excerpt(html, words)))
            model.objects.bulk_update(batch, [target])
            filled += len(batch)
    return filled, plain
