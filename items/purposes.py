"""S7's upload purposes: what Simplici7y accepts as a version's file and as a screenshot."""

from django.conf import settings

from uploads.core import sniff
from uploads.core.purposes import Purpose, RenditionSize, register

MiB = 1024 * 1024

# Archives and the Aleph One formats people have published on Simplici7y for two decades.
VERSION_FILE_EXTENSIONS = frozenset(
    {
        ".zip",
        ".7z",
        ".rar",
        ".sit",
        ".sitx",
        ".hqx",
        ".bin",
        ".dmg",
        ".tar",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".sceA",
        ".phyA",
        ".shpA",
        ".sndA",
        ".imgA",
        ".filA",
        ".mml",
        ".lua",
        ".txt",
        ".pdf",
    }
)
VERSION_FILE_EXTENSIONS = frozenset(ext.lower() for ext in VERSION_FILE_EXTENSIONS)

# What each extension's bytes must show. Archives carry their format's magic. Aleph One's own
# files (wads, physics, shapes, sounds) have no fixed magic: they are accepted unless they are
# markup or a format recognised as something else (a ZIP renamed .sceA). Text formats must be
# text and must not start like a web page: no genuine Marathon file does, and a page on the
# bucket's origin is a phishing page if it is ever served inline. ".bin" (MacBinary, or a CD
# image) and ".hqx" (BinHex: text, possibly behind mail headers) are checked no further.
VERSION_FILE_CONTENT = {
    ".zip": sniff.ZIP,
    ".7z": sniff.SEVEN_ZIP,
    ".rar": sniff.RAR,
    ".sit": sniff.STUFFIT,
    ".sitx": sniff.STUFFIT_X,
    ".hqx": sniff.TEXT,
    ".bin": sniff.NO_MAGIC,
    ".dmg": sniff.DMG,
    ".tar": sniff.TAR,
    ".gz": sniff.GZIP,
    ".tgz": sniff.GZIP,
    ".bz2": sniff.BZIP2,
    ".xz": sniff.XZ,
    ".scea": sniff.NO_MAGIC,
    ".phya": sniff.NO_MAGIC,
    ".shpa": sniff.NO_MAGIC,
    ".snda": sniff.NO_MAGIC,
    ".imga": sniff.NO_MAGIC,
    ".fila": sniff.NO_MAGIC,
    ".mml": sniff.TEXT,
    ".lua": sniff.TEXT,
    ".txt": sniff.TEXT,
    ".pdf": sniff.PDF,
}

SCREENSHOT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

SCREENSHOT_CONTENT = sniff.JPEG + sniff.PNG + sniff.GIF + sniff.WEBP

version_file = register(
    Purpose(
        name="version_file",
        max_size=settings.UPLOADS_VERSION_FILE_MAX_SIZE,
        extensions=VERSION_FILE_EXTENSIONS,
        key_prefix="version_file",
        preferred_part_size=8 * MiB,
        sniff=sniff.by_extension(VERSION_FILE_CONTENT),
        description="A map, scenario, plugin, physics or other Aleph One file.",
    )
)

screenshot = register(
    Purpose(
        name="screenshot",
        max_size=settings.UPLOADS_SCREENSHOT_MAX_SIZE,
        extensions=frozenset(SCREENSHOT_TYPES),
        content_types=frozenset(SCREENSHOT_TYPES.values()) | {"application/octet-stream", ""},
        key_prefix="screenshot",
        preferred_part_size=5 * MiB,
        served_types=SCREENSHOT_TYPES,
        # Any of the four formats under any of their names: renditions are re-encoded as JPEG
        # whatever the original's format, and the decoder only ever sees the sniffed one.
        sniff=sniff.by_extension(dict.fromkeys(SCREENSHOT_TYPES, SCREENSHOT_CONTENT)),
        # The gallery's thumbnail and the size a screenshot is shown at on the item's page.
        renditions=(RenditionSize("thumb", 300, 400), RenditionSize("content", 920, 1600)),
        stage_labels={"processing": "Making thumbnails…"},
        description="A JPEG, PNG, GIF or WebP image.",
    )
)
