"""Upload purposes: a named policy per kind of file.

The engine knows no purpose by name; a project registers its own (S7's site does so in
``items.purposes``). A purpose says which files are accepted, how large, where their keys go, and
what the worker does once S3 holds the object (``process``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from uploads.core.names import safe_filename
from uploads.core.sniff import Sample

# Every object the engine stores lives under this prefix; what lies outside it (a project's own
# files in the same bucket) is never the engine's to sweep or audit.
KEY_PREFIX = "uploads/"

_registry: dict[str, Purpose] = {}


class PurposeError(ValueError):
    """The file does not fit the purpose; the message is shown to the uploader."""


class RenditionSize(NamedTuple):
    """A JPEG the worker makes of an image upload: fitted into width × height, never enlarged."""

    name: str
    width: int
    height: int


@dataclass(frozen=True)
class Purpose:
    name: str
    max_size: int
    extensions: frozenset[str]
    # Declared content types the browser may send; None accepts any (they are only a hint).
    content_types: frozenset[str] | None = None
    key_prefix: str = ""
    preferred_part_size: int = 8 * 1024 * 1024
    # Maps an extension to the Content-Type S3 will serve; others are served as octet-stream so
    # that a stored file can never be rendered as a page by the browser.
    served_types: dict[str, str] = field(default_factory=dict)
    # Run by the worker on the object's first and last bytes (see ``uploads.core.sniff``): None when
    # the content is what the name claims, else the reason the upload fails. None: no check.
    sniff: Callable[[Sample], str | None] | None = None
    # Made by the worker once the object is verified, for an image purpose; an upload that is
    # not a sound image then fails with the reason. Their keys and sizes go into
    # ``Upload.result["renditions"]``.
    renditions: tuple[RenditionSize, ...] = ()
    # Run by the worker after the object is verified (and its renditions made); returns what
    # goes into ``Upload.result``; raises ``ProcessingError`` to refuse the file.
    # (It is given the Upload; the model imports this module, so the type is not named here.)
    process: Callable[..., dict] | None = None
    # What the uploader shows in each stage (``UploadStage``), where this purpose says it
    # better than the engine's generic words ("Making thumbnails…" for "processing").
    stage_labels: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def key_for(self, upload_id, filename: str) -> str:
        """The object key of an upload of this purpose: chosen here, never by the client."""
        return f"{KEY_PREFIX}{self.key_prefix or self.name}/{upload_id}/{safe_filename(filename)}"

    def extension_of(self, filename: str) -> str:
        return posixpath.splitext(filename.lower())[1]

    def check(self, *, filename: str, size: int, content_type: str) -> None:
        """Raise ``PurposeError`` naming the first rule the file breaks."""
        extension = self.extension_of(filename)
        if extension not in self.extensions:
            allowed = ", ".join(sorted(self.extensions))
            raise PurposeError(
                f"Files of type “{extension or 'none'}” are not accepted here; allowed: {allowed}."
            )
        if self.content_types is not None and content_type not in self.content_types:
            raise PurposeError(f"Content type “{content_type}” is not accepted here.")

    def served_type(self, filename: str) -> str:
        return self.served_types.get(self.extension_of(filename), "application/octet-stream")

    def as_limits(self, stage_labels: dict[str, str]) -> dict:
        """What a client needs to check a file before asking for an upload, and the words for
        each stage of it (``stage_labels``: the engine's, which this purpose may override)."""
        return {
            "name": self.name,
            "max_size": self.max_size,
            "extensions": sorted(self.extensions),
            "content_types": sorted(self.content_types) if self.content_types is not None else None,
            "description": self.description,
            "stages": {**stage_labels, **self.stage_labels},
        }


def register(purpose: Purpose) -> Purpose:
    _registry[purpose.name] = purpose
    return purpose


def get(name: str) -> Purpose:
    try:
        return _registry[name]
    except KeyError:
        raise PurposeError(f"Unknown purpose “{name}”.") from None


def all_purposes() -> list[Purpose]:
    return list(_registry.values())
