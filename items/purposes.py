"""S7's upload purposes: what Simplici7y accepts as a version's file and as a screenshot."""

from django.conf import settings

from uploads.purposes import Purpose, register

MiB = 1024 * 1024

# Archives and the Aleph One formats people have published on Simplici7y for two decades.
VERSION_FILE_EXTENSIONS = frozenset(
    {
        ".zip", ".7z", ".rar", ".sit", ".sitx", ".hqx", ".bin", ".dmg", ".tar", ".gz", ".tgz",
        ".bz2", ".xz", ".sceA", ".phyA", ".shpA", ".sndA", ".imgA", ".filA", ".mml", ".lua",
        ".txt", ".pdf",
    }
)
VERSION_FILE_EXTENSIONS = frozenset(ext.lower() for ext in VERSION_FILE_EXTENSIONS)

SCREENSHOT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

version_file = register(
    Purpose(
        name="version_file",
        max_size=settings.UPLOADS_VERSION_FILE_MAX_SIZE,
        extensions=VERSION_FILE_EXTENSIONS,
        key_prefix="version_file",
        preferred_part_size=8 * MiB,
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
        description="A JPEG, PNG, GIF or WebP image.",
    )
)
