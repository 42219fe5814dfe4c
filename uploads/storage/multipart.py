"""Multipart uploads on S3: create, list the parts S3 holds, complete, abort, and list the open
ones. Each function is one S3 call (or one per page); callers keep them out of DB transactions.
"""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from uploads.storage.connection import S3Error, bucket_name, call, s3_client
from uploads.storage.disposition import attachment_disposition


@dataclass(frozen=True)
class S3Part:
    part_number: int
    size: int
    etag: str  # without quotes; for a plain part it is the MD5 of its bytes, in hex


@dataclass(frozen=True)
class OpenMultipartUpload:
    key: str
    upload_id: str
    initiated: object


MAX_PART_NUMBER = 10_000
_local = threading.local()


def create_multipart_upload(*, key: str, content_type: str, filename: str) -> str:
    response = call(
        "create_multipart_upload",
        Key=key,
        ContentType=content_type,
        ContentDisposition=attachment_disposition(filename),
        ChecksumAlgorithm="SHA256",
    )
    return response["UploadId"]


def _http() -> requests.Session:
    # requests promises nothing of one Session shared by threads: one per thread.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _list_parts_page(key: str, upload_id: str, marker: int, page_size: int):
    """One ListParts page: (parts, truncated, next marker).

    The request is botocore's (a presigned GET), the answer parsed here with ElementTree:
    botocore's generic response parser spends milliseconds per hundred parts, most of the
    time a 10,000-part completion takes.
    """
    url = s3_client().generate_presigned_url(
        "list_parts",
        Params={
            "Bucket": bucket_name(),
            "Key": key,
            "UploadId": upload_id,
            "PartNumberMarker": marker,
            "MaxParts": page_size,
        },
        ExpiresIn=300,
    )
    for attempt in range(3):
        try:
            response = _http().get(url, timeout=(5, 20))
        except requests.RequestException as exc:
            if attempt == 2:
                raise S3Error("RequestFailed", str(exc)) from exc
            continue
        if response.status_code < 500 or attempt == 2:
            break
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        raise S3Error(f"HTTP{response.status_code}", response.text[:200]) from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if response.status_code != 200:
        raise S3Error(
            root.findtext(f"{ns}Code") or f"HTTP{response.status_code}",
            root.findtext(f"{ns}Message") or "",
        )
    page = [
        S3Part(
            part_number=int(part.findtext(f"{ns}PartNumber")),
            size=int(part.findtext(f"{ns}Size")),
            etag=part.findtext(f"{ns}ETag").strip('"'),
        )
        for part in root.iterfind(f"{ns}Part")
    ]
    truncated = (root.findtext(f"{ns}IsTruncated") or "").strip().lower() == "true"
    next_marker = int(root.findtext(f"{ns}NextPartNumberMarker") or 0)
    return page, truncated, next_marker


def list_parts(
    *, key: str, upload_id: str, page_size: int = 1000, expected_parts: int = 0
) -> list[S3Part]:
    """Every part S3 holds for the upload, following all pages, each (number, ETag) once.

    ``expected_parts`` (the plan's count): when it needs more than one page, the pages are asked
    for at once, one chain per ``page_size`` part numbers (0-1,000, 1,000-2,000…), each following
    its own pages until it reaches the next chain's numbers. S3 answers each page in some
    milliseconds, most of a 10,000-part completion done one after another.
    """
    starts = list(range(0, expected_parts, page_size)) or [0]
    if len(starts) == 1:
        chains = [_list_parts_from(key, upload_id, 0, None, page_size)]
    else:
        ends = [*starts[1:], None]
        chains = _listing_pool().map(
            lambda start, end: _list_parts_from(key, upload_id, start, end, page_size),
            starts,
            ends,
        )
    parts: dict[tuple[int, str], S3Part] = {}
    for chain in chains:
        for part in chain:
            parts.setdefault((part.part_number, part.etag), part)
    return sorted(parts.values(), key=lambda part: part.part_number)


def _list_parts_from(
    key: str, upload_id: str, marker: int, end: int | None, page_size: int
) -> list[S3Part]:
    """The parts after ``marker``, page after page, until none is left or the pages have passed
    part number ``end`` (another chain lists from there)."""
    found: list[S3Part] = []
    while True:
        page, truncated, next_marker = _list_parts_page(key, upload_id, marker, page_size)
        found += page
        if not truncated:
            return found
        # SeaweedFS orders parts by file name, so part 10,000 (the only five-digit number) is
        # listed between 999 and 1,000, and a page ending there would make its next marker skip
        # parts 1,000-9,999: carry on after the highest part below it instead.
        below = [part.part_number for part in page if part.part_number < MAX_PART_NUMBER]
        marker = max(below) if below else next_marker
        if end is not None and marker >= end:
            return found


_listing_threads: tuple[int, ThreadPoolExecutor] | None = None


def _listing_pool() -> ThreadPoolExecutor:
    """Threads kept for the life of the process (its own after a fork), so that each keeps its
    HTTP connection to S3 from one listing to the next."""
    global _listing_threads
    if _listing_threads is None or _listing_threads[0] != os.getpid():
        _listing_threads = (os.getpid(), ThreadPoolExecutor(4, thread_name_prefix="s3-list"))
    return _listing_threads[1]


def complete_multipart_upload(*, key: str, upload_id: str, parts: list[dict]) -> dict:
    """``parts``: ``{"PartNumber", "ETag", "ChecksumSHA256"}`` in part order."""
    response = call(
        "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    # S3 may answer 200 and put the error in the body; botocore turns that into a ClientError,
    # but an answer with neither ETag nor error is still not a completed object.
    if "ETag" not in response:
        raise S3Error("IncompleteResponse", "CompleteMultipartUpload answered without an ETag")
    return response


def abort_multipart_upload(*, key: str, upload_id: str) -> None:
    """Abort; an upload S3 no longer knows counts as aborted."""
    call("abort_multipart_upload", Key=key, UploadId=upload_id, absent=("NoSuchUpload", "404"))


def list_multipart_uploads(prefix: str = "") -> list[OpenMultipartUpload]:
    uploads: list[OpenMultipartUpload] = []
    kwargs = {"Prefix": prefix}
    while True:
        response = call("list_multipart_uploads", **kwargs)
        for item in response.get("Uploads", []):
            uploads.append(
                OpenMultipartUpload(item["Key"], item["UploadId"], item.get("Initiated"))
            )
        if not response.get("IsTruncated"):
            return uploads
        kwargs["KeyMarker"] = response.get("NextKeyMarker", "")
        kwargs["UploadIdMarker"] = response.get("NextUploadIdMarker", "")
