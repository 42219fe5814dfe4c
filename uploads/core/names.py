"""File names: how a user's file name becomes part of an object key, and how it is shown."""

import posixpath
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(filename: str) -> str:
    """A key-safe version of the name: ASCII letters, digits, dot, dash and underscore."""
    name = posixpath.basename(filename.replace("\\", "/"))
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem, extension = posixpath.splitext(name)
    stem = _UNSAFE.sub("-", stem).strip("-.") or "file"
    extension = _UNSAFE.sub("", extension)[:20]
    return f"{stem[:100]}{extension}"


def display_name(filename: str) -> str | None:
    """The name shown and saved as: the last path segment without control characters, at most
    255 characters (the extension kept); None when nothing is left to call the file by, which
    the caller answers (a refusal, or a name of its own)."""
    name = posixpath.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    if not name or name in (".", ".."):
        return None
    if len(name) <= 255:
        return name
    stem, extension = posixpath.splitext(name)
    if len(extension) > 32:  # not an extension anyone needs kept, and it must leave a stem
        stem, extension = name, ""
    return stem[: 255 - len(extension)] + extension
