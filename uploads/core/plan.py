"""The part plan: how a file of a given size is cut into S3 multipart parts.

A pure function of the size, so that the browser, the Python client and the server agree on
every part's length before a byte is sent, and a signed URL can pin that length.
"""

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_S3_OBJECT_SIZE = 5 * 1024 * GiB

# Over a distant link each part costs its connection about two round trips besides its bytes
# (the browser's CORS preflight of the part's own URL, then S3's answer after the last byte),
# and a browser sends at most 6 parts at once to one host. Parts of this many bytes per
# millisecond of round trip keep those waits near 3 % of a part's time on a 428 Mbit/s line.
LINK_PART_BYTES_PER_MS = 600_000
MAX_LINK_PART_SIZE = 128 * MiB
BROWSER_PARTS_IN_FLIGHT = 6


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class PartPlan:
    size: int
    part_size: int
    part_count: int

    def part_length(self, part_number: int) -> int:
        if not 1 <= part_number <= self.part_count:
            raise PlanError(f"part {part_number} is outside the plan (1–{self.part_count})")
        if part_number < self.part_count:
            return self.part_size
        return self.size - self.part_size * (self.part_count - 1)


def plan_parts(size: int, *, preferred_part_size: int = 8 * MiB) -> PartPlan:
    """Cut ``size`` bytes into parts of ``preferred_part_size``, growing the parts as needed.

    Parts grow in whole MiB so that a file never needs more than 10,000 of them.
    """
    if size <= 0:
        raise PlanError("an empty file cannot be uploaded")
    if size > MAX_S3_OBJECT_SIZE:
        raise PlanError("a file may be at most 5 TiB")
    part_size = max(MIN_PART_SIZE, min(preferred_part_size, MAX_PART_SIZE))
    if -(-size // part_size) > MAX_PARTS:
        part_size = -(-size // MAX_PARTS)
        part_size = -(-part_size // MiB) * MiB
    part_count = -(-size // part_size)
    return PartPlan(size=size, part_size=part_size, part_count=part_count)


def link_part_size(size: int, preferred_part_size: int, round_trip_ms: int | None) -> int:
    """The part size for a client ``round_trip_ms`` away: larger parts the farther it is, never
    smaller than ``preferred_part_size``, and never so large that the file has fewer parts than
    a browser sends at once."""
    if not round_trip_ms or round_trip_ms <= 0:
        return preferred_part_size
    wanted = min(round_trip_ms * LINK_PART_BYTES_PER_MS, MAX_LINK_PART_SIZE)
    wanted = min(wanted, -(-size // BROWSER_PARTS_IN_FLIGHT))
    wanted = -(-wanted // MiB) * MiB
    return max(preferred_part_size, wanted)
