"""The parts S3 holds for an upload, joined with what the server signed, and how they differ
from the plan. Read by the web request that checks completion and by the worker that completes."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass

from django.core.cache import caches

from uploads.conf import settings
from uploads.core.errors import StorageUnavailable
from uploads.core.models import Upload, UploadPart
from uploads.storage import multipart
from uploads.storage.connection import S3Error


@dataclass(frozen=True)
class HeldPart:
    """A part S3 holds, with what the server knows of its content."""

    part_number: int
    size: int
    etag: str
    checksum_sha256: str  # as last signed; "" when never signed
    signed_md5: str  # hex MD5 signed with that checksum; "" when the client sent none

    @property
    def verified(self) -> bool:
        """S3's ETag (the part's MD5) is the MD5 signed with the checksum: content proven."""
        return bool(self.signed_md5) and self.signed_md5 == self.etag

    @property
    def contradicts_signature(self) -> bool:
        return bool(self.signed_md5) and self.signed_md5 != self.etag


logger = logging.getLogger("uploads")

LISTING_KEY_PREFIX = "uploads:listing:"


def held_parts(upload: Upload, *, recent: bool = False) -> list[HeldPart]:
    """ListParts, joined with the signed checksums (one S3 call per 1,000 parts).

    ``recent``: a listing up to ``UPLOADS_PARTS_LISTING_TTL`` seconds old will do (a client
    polling an upload of thousands of parts would otherwise cost S3 calls on every request).
    The complete request always asks S3 afresh, and its listing is kept for the worker that
    completes a moment later: the ETags it lists to CompleteMultipartUpload are then the ones
    the request checked, and S3 refuses any part that has changed since (its ETag or SHA-256
    would differ), so a second ListParts would only delay the upload's readiness.
    """
    listed = _cached_listing(upload) if recent else None
    if listed is None:
        listed = _list_parts(upload)
        _cache_listing(upload, listed)
    # Tuples, not model instances: a 10,000-part upload has 10,000 records.
    signed = {
        number: (checksum, base64.b64decode(md5).hex() if md5 else "")
        for number, checksum, md5 in UploadPart.objects.filter(upload=upload).values_list(
            "part_number", "checksum_sha256", "content_md5"
        )
    }
    held: dict[int, HeldPart] = {}
    for part in listed:
        checksum, md5_hex = signed.get(part.part_number, ("", ""))
        candidate = HeldPart(
            part_number=part.part_number,
            size=part.size,
            etag=part.etag,
            checksum_sha256=checksum,
            signed_md5=md5_hex,
        )
        # SeaweedFS lists a part sent twice once per upload of it (AWS keeps only the latest);
        # the copy whose ETag is the signed MD5 is the content the last signature was for.
        earlier = held.get(part.part_number)
        if earlier is None or not earlier.verified:
            held[part.part_number] = candidate
    return list(held.values())


def _list_parts(upload: Upload) -> list[multipart.S3Part]:
    try:
        return multipart.list_parts(
            key=upload.key, upload_id=upload.s3_upload_id, expected_parts=upload.part_count
        )
    except S3Error as exc:
        if exc.code == "NoSuchUpload":
            return []
        raise StorageUnavailable("Storage is unavailable right now; try again shortly.") from exc


def _listing_cache():
    return caches[settings.UPLOADS_PROGRESS_CACHE]


def _cached_listing(upload: Upload) -> list[multipart.S3Part] | None:
    try:
        found = _listing_cache().get(f"{LISTING_KEY_PREFIX}{upload.pk}")
    except Exception:  # a cache that is down only costs the S3 call
        logger.warning("could not read the parts listing of %s", upload.pk, exc_info=True)
        return None
    if found is None:
        return None
    return [multipart.S3Part(part_number=n, size=size, etag=etag) for n, size, etag in found]


def _cache_listing(upload: Upload, listed: list[multipart.S3Part]) -> None:
    rows = [(part.part_number, part.size, part.etag) for part in listed]
    try:
        _listing_cache().set(
            f"{LISTING_KEY_PREFIX}{upload.pk}", rows, timeout=settings.UPLOADS_PARTS_LISTING_TTL
        )
    except Exception:
        logger.warning("could not cache the parts listing of %s", upload.pk, exc_info=True)


def problems_with(upload: Upload, held: list[HeldPart], client_etags: dict[int, str]) -> dict:
    """Every way the held parts differ from the plan; empty when the upload can complete."""
    plan = upload.plan
    by_number = {part.part_number: part for part in held}
    problems: dict[str, list[int]] = {
        "missing_parts": [n for n in range(1, plan.part_count + 1) if n not in by_number],
        "wrong_size_parts": [],
        "mismatched_parts": [],
        "unexpected_parts": [],
    }
    for part in held:
        if part.part_number > plan.part_count:
            problems["unexpected_parts"].append(part.part_number)
        elif part.size != plan.part_length(part.part_number):
            problems["wrong_size_parts"].append(part.part_number)
        elif (
            not part.checksum_sha256
            or part.contradicts_signature
            or client_etags.get(part.part_number, part.etag).strip('"') != part.etag
        ):
            problems["mismatched_parts"].append(part.part_number)
    return {name: numbers for name, numbers in problems.items() if numbers}


def describe(problems: dict) -> str:
    words = {
        "missing_parts": "missing",
        "wrong_size_parts": "of the wrong size",
        "mismatched_parts": "not the content that was signed",
        "unexpected_parts": "outside the plan",
    }
    return "; ".join(
        f"part{'s' if len(numbers) > 1 else ''} {_number_list(numbers)} {words[name]}"
        for name, numbers in problems.items()
    )


def _number_list(numbers: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")
