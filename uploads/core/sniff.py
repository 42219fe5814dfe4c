"""Content sniffing: do the stored bytes match what the file's name says it is?

A purpose's ``sniff`` is a callable from a ``Sample`` (the first and last bytes of the object) to
``None`` when the content is acceptable, or a sentence for the uploader when it is not. This
module gives the pieces a project builds its policy from: magic signatures, a table from
extension to the signatures it must show (``by_extension``), and a test for markup that has no
business in a binary or plain-text file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

HEAD_BYTES = 4096
TAIL_BYTES = 512


@dataclass(frozen=True)
class Sample:
    """What the worker reads of an object to sniff it: two ranged GETs, whatever its size."""

    extension: str  # lower case, with its dot
    size: int
    head: bytes  # the first HEAD_BYTES (or fewer)
    tail: bytes  # the last TAIL_BYTES (or fewer)


@dataclass(frozen=True)
class Signature:
    """Bytes found at a fixed offset; a negative offset counts from the end of the file."""

    name: str
    magic: bytes
    offset: int = 0

    def matches(self, sample: Sample) -> bool:
        if self.offset >= 0:
            return sample.head[self.offset : self.offset + len(self.magic)] == self.magic
        start = len(sample.tail) + self.offset
        return start >= 0 and sample.tail[start : start + len(self.magic)] == self.magic


Sniff = Callable[[Sample], "str | None"]


# --- Signatures ------------------------------------------------------------------------------

ZIP = (
    Signature("ZIP", b"PK\x03\x04"),
    Signature("ZIP", b"PK\x05\x06"),  # an empty archive
    Signature("ZIP", b"PK\x07\x08"),  # a spanned archive's first piece
)
SEVEN_ZIP = (Signature("7-Zip", b"7z\xbc\xaf\x27\x1c"),)
RAR = (Signature("RAR", b"Rar!\x1a\x07\x00"), Signature("RAR", b"Rar!\x1a\x07\x01\x00"))
GZIP = (Signature("gzip", b"\x1f\x8b"),)
BZIP2 = (Signature("bzip2", b"BZh"),)
XZ = (Signature("xz", b"\xfd7zXZ\x00"),)
TAR = (Signature("tar", b"ustar", offset=257),)
# Classic Mac files often arrive MacBinary-wrapped (a 128-byte header before the data fork).
STUFFIT = (
    Signature("StuffIt", b"SIT!"),
    Signature("StuffIt", b"StuffIt (c)1997-"),
    Signature("StuffIt", b"SIT!", offset=128),
    Signature("StuffIt", b"StuffIt (c)1997-", offset=128),
)
STUFFIT_X = (Signature("StuffIt X", b"StuffIt!"), Signature("StuffIt X", b"StuffIt!", offset=128))
# A UDIF disk image ends with its "koly" trailer; a raw HFS/HFS+ image has its volume header at
# 1024; an encrypted image starts with "encrcdsa".
DMG = (
    Signature("disk image", b"koly", offset=-512),
    Signature("disk image", b"H+", offset=1024),
    Signature("disk image", b"HX", offset=1024),
    Signature("disk image", b"BD", offset=1024),
    Signature("disk image", b"encrcdsa"),
)
PDF = (Signature("PDF", b"%PDF-"),)
JPEG = (Signature("JPEG", b"\xff\xd8\xff"),)
PNG = (Signature("PNG", b"\x89PNG\r\n\x1a\n"),)
GIF = (Signature("GIF", b"GIF87a"), Signature("GIF", b"GIF89a"))
WEBP = (Signature("WebP", b"WEBP", offset=8),)  # after "RIFF" and a length
EXECUTABLES = (
    Signature("Windows program", b"MZ"),
    Signature("ELF program", b"\x7fELF"),
    Signature("Mac program", b"\xcf\xfa\xed\xfe"),
    Signature("Mac program", b"\xca\xfe\xba\xbe"),
)

# What an upload is recognised as when it matches none of its own extension's signatures, so
# that the uploader learns what they actually sent ("this is a ZIP archive").
KNOWN = (
    ZIP + SEVEN_ZIP + RAR + GZIP + BZIP2 + XZ + TAR + STUFFIT + STUFFIT_X + PDF + JPEG + PNG
    + GIF + WEBP + EXECUTABLES
)  # fmt: skip


def identify(sample: Sample, signatures: Iterable[Signature] = KNOWN) -> str | None:
    for signature in signatures:
        if signature.matches(sample):
            return signature.name
    return None


# --- Markup and text -------------------------------------------------------------------------

# What a browser would treat as a page or a script if the object were ever served inline.
_MARKUP_STARTS = (
    b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg", b"<?php",
    b"<meta", b"<object", b"<embed", b"<a ", b"<img", b"<div", b"<style", b"<title", b"<form",
)  # fmt: skip
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def looks_like_markup(head: bytes) -> bool:
    """The file starts (after a BOM and whitespace) like an HTML page, an SVG or a script."""
    start = head
    for bom in _BOMS:
        if start.startswith(bom):
            start = start[len(bom) :]
            break
    start = start.lstrip(b" \t\r\n\x0c\x00").lower()
    return start.startswith(_MARKUP_STARTS)


def looks_like_text(head: bytes) -> bool:
    """No NUL byte and no control characters other than whitespace: plain text in any 8-bit
    encoding (Aleph One's text dates from MacRoman days, so UTF-8 is not required)."""
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


# --- Building a policy -----------------------------------------------------------------------

# Marks an extension whose format has no magic bytes: anything is accepted unless it is markup
# or a format the table recognises as something else.
NO_MAGIC = ()
# Marks a text extension: text that does not start like markup.
TEXT = None


def by_extension(table: dict[str, tuple[Signature, ...] | None]) -> Sniff:
    """A sniff from ``extension → signatures``; ``NO_MAGIC`` and ``TEXT`` as described above.

    An extension missing from the table is refused: the purpose's extension check has already
    let only the table's extensions through, so a missing one is a mistake in the policy.
    """
    table = {extension.lower(): signatures for extension, signatures in table.items()}

    def sniff(sample: Sample) -> str | None:
        if sample.extension not in table:
            return f"Files of type “{sample.extension}” cannot be checked."
        signatures = table[sample.extension]
        if signatures is TEXT:
            if looks_like_markup(sample.head):
                return f"This file is a web page or script, not a “{sample.extension}” file."
            if not looks_like_text(sample.head):
                found = identify(sample)
                what = f"a {found} file" if found else "binary data"
                return f"This file is {what}, not a “{sample.extension}” text file."
            return None
        if signatures == NO_MAGIC:
            if looks_like_markup(sample.head):
                return f"This file is a web page or script, not a “{sample.extension}” file."
            found = identify(sample)
            if found:
                return f"This file is a {found} file, not a “{sample.extension}” file."
            return None
        if any(signature.matches(sample) for signature in signatures):
            return None
        if looks_like_markup(sample.head):
            return f"This file is a web page or script, not a “{sample.extension}” file."
        found = identify(sample)
        expected = signatures[0].name
        if found:
            return (
                f"This file is a {found} file, but its name says {expected} (“{sample.extension}”)."
            )
        return f"This file is not a {expected} file, though its name ends in “{sample.extension}”."

    return sniff
