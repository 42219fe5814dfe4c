"""One upload's parts on this side: where each lies in the file, its bytes and its digests, and
the resume proof that a part S3 holds is this file's."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from uploads.client.errors import S7ClientError


def parse_time(value: str) -> float:
    """An API timestamp as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()


@dataclass(frozen=True)
class PartPlan:
    """The server's plan of the parts: the file is cut exactly so, or S3 refuses the parts."""

    size: int
    part_size: int
    part_count: int

    def offset(self, n: int) -> int:
        return (n - 1) * self.part_size

    def length(self, n: int) -> int:
        return self.part_size if n < self.part_count else self.size - self.part_size * (n - 1)


@dataclass(frozen=True)
class Digest:
    sha256: str  # base64, as S3's x-amz-checksum-sha256
    md5: str = ""  # base64, as Content-MD5; only for parts S3 already holds


def read_part(path: str, plan: PartPlan, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(plan.offset(n))
        data = f.read(plan.length(n))
    if len(data) != plan.length(n):
        raise S7ClientError(f"{path} changed while it was being uploaded (part {n} is short)")
    return data


def digest_of(data: bytes, *, md5: bool = False) -> Digest:
    # hashlib releases the GIL on large buffers, so digests of several parts run in parallel.
    return Digest(
        base64.b64encode(hashlib.sha256(data).digest()).decode(),
        base64.b64encode(hashlib.md5(data).digest()).decode() if md5 else "",
    )


def _md5_hex(b64: str) -> str:
    return base64.b64decode(b64).hex() if b64 else ""


def is_proven(held: dict, digest: Digest, length: int) -> bool:
    """The resume proof: S3 holds this very content. The SHA-256 last signed for the part is
    the local part's, and S3's ETag (the MD5 of what it holds) is the local part's MD5, unless
    the server proved the held content itself (``verified``)."""
    return bool(
        held.get("checksum_sha256") == digest.sha256
        and held.get("size") == length
        and (held.get("verified") or _md5_hex(digest.md5) == held.get("etag"))
    )
