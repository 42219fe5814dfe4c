"""The bucket against the database, for operators (``manage.py upload_audit``): objects that no
Upload owns, and ready Uploads whose object is gone.

Only keys under the engine's prefix (``uploads/``) are the engine's to judge; anything else in
the bucket (files imported from the old site, say) is left out of both lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from uploads.core.models import Upload, UploadState
from uploads.core.purposes import KEY_PREFIX
from uploads.core.quota import human_size
from uploads.storage import objects
from uploads.storage.connection import S3Error

logger = logging.getLogger("uploads")


@dataclass
class Audit:
    orphans: list[objects.StoredObject] = field(default_factory=list)  # no Upload owns them
    missing: list[Upload] = field(default_factory=list)  # ready, but S3 has no object

    def lines(self) -> list[str]:
        out = [
            f"orphan object {item.key} ({human_size(item.size)}, {item.size:,} bytes)"
            for item in self.orphans
        ]
        out += [
            f"missing object {u.key} of ready upload {u.pk} ({u.filename}, {u.size:,} bytes)"
            for u in self.missing
        ]
        return out

    def summary(self) -> str:
        orphan_bytes = sum(item.size for item in self.orphans)
        missing_bytes = sum(upload.size for upload in self.missing)
        return (
            f"{len(self.orphans)} orphan objects ({human_size(orphan_bytes)}), "
            f"{len(self.missing)} uploads missing their object ({human_size(missing_bytes)})."
        )


def storage_audit() -> Audit:
    """One listing of the bucket's prefix and one pass over the uploads' keys."""
    stored = {item.key: item for item in objects.list_objects(prefix=KEY_PREFIX)}
    owned: set[str] = set()
    missing = []
    for upload in Upload.objects.only("id", "key", "purpose", "state", "filename", "size"):
        owned.add(upload.key)
        owned.update(upload.rendition_keys())
        if upload.state == UploadState.READY and upload.key not in stored:
            missing.append(upload)
    orphans = [item for key, item in sorted(stored.items()) if key not in owned]
    return Audit(orphans=orphans, missing=missing)


def delete_orphans(audit: Audit) -> int:
    """Delete the orphans the audit found; returns how many went."""
    owned = set(
        Upload.objects.filter(key__in=[item.key for item in audit.orphans]).values_list(
            "key", flat=True
        )
    )
    deleted = 0
    for item in audit.orphans:
        if item.key in owned:  # an upload was made with this key since the listing
            continue
        try:
            objects.delete_object(item.key)
            deleted += 1
        except S3Error:
            logger.exception("could not delete orphan object %s", item.key)
    return deleted
