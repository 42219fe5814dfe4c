"""How many bytes a user holds in uploads, and whether one more file fits their quota.

Held means every upload that is or may become a stored file: unfinished ones (uploading and
not yet expired, completing, processing) and ready ones. Failed, aborted and expired uploads
hold nothing: their objects are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone

from uploads.conf import settings
from uploads.core.errors import OverQuota
from uploads.core.models import OPEN_STATES, Upload, UploadState


@dataclass(frozen=True)
class Holdings:
    bytes_held: int
    open_uploads: int  # still uploading and not expired


def holdings(owner) -> Holdings:
    """What the owner holds, in one query."""
    now = timezone.now()
    uploading = Q(state=UploadState.UPLOADING, expires_at__gt=now)
    # Past its time an upload holds nothing, even before the sweep marks it expired.
    lapsed = Q(state=UploadState.UPLOADING, expires_at__lte=now)
    held = Q(state__in=(*OPEN_STATES, UploadState.READY)) & ~lapsed
    found = Upload.objects.filter(owner=owner).aggregate(
        bytes_held=Sum("size", filter=held), open_uploads=Count("pk", filter=uploading)
    )
    return Holdings(bytes_held=found["bytes_held"] or 0, open_uploads=found["open_uploads"])


def bytes_held(owner) -> int:
    return holdings(owner).bytes_held


def quota_of(owner) -> int | None:
    """The owner's quota in bytes; None for staff, who are not limited."""
    return None if owner.is_staff else settings.UPLOADS_QUOTA_BYTES


def check_quota(owner, size: int, *, used: int | None = None) -> None:
    """Raise ``OverQuota`` with a sentence for the uploader when ``size`` more bytes would
    pass the owner's quota (``used``: bytes held, when the caller already counted them)."""
    quota = quota_of(owner)
    if quota is None:
        return
    used = bytes_held(owner) if used is None else used
    if used + size > quota:
        raise OverQuota(
            f"You have used {human_size(used)} of your {human_size(quota)}; "
            f"this {human_size(size)} file would exceed it.",
            code="over_quota",
            used=used,
            quota=quota,
        )


def human_size(size: int) -> str:
    """Decimal units, as disks and S3's console count: 9,600,000,000 → "9.6 GB"."""
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= scale:
            value = f"{size / scale:.1f}".removesuffix(".0")
            return f"{value} {unit}"
    return f"{size} bytes" if size != 1 else "1 byte"
