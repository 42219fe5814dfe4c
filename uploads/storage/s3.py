"""The S3 gateway: the only module of S7 that talks to S3.

Everything here is a plain function over the settings' bucket. Signing makes no request; every
other function is one S3 call (or one per page), and callers keep them out of DB transactions.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import boto3
import botocore.session
import botocore.utils
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from uploads.conf import settings
from uploads.storage.sigv4 import PartUrlSigner, UnsupportedConfiguration


class S3Error(Exception):
    """S3 refused or failed a call; ``code`` is S3's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class S3Part:
    part_number: int
    size: int
    etag: str  # without quotes; for a plain part it is the MD5 of its bytes, in hex


@dataclass(frozen=True)
class SignedPart:
    part_number: int
    url: str
    headers: dict[str, str]
    size: int


@dataclass(frozen=True)
class OpenMultipartUpload:
    key: str
    upload_id: str
    initiated: object


MAX_PART_NUMBER = 10_000
_local = threading.local()

# The code of an S3Error when S3 could not be reached at all.
UNREACHABLE = "Unreachable"


def _settings_key():
    return (
        settings.AWS_S3_ENDPOINT_URL,
        settings.AWS_ACCESS_KEY_ID,
        settings.AWS_SECRET_ACCESS_KEY,
        settings.AWS_S3_REGION_NAME,
        settings.AWS_S3_ADDRESSING_STYLE,
    )


def _parse_timestamp(value):
    """S3's XML timestamps are ISO 8601, which ``datetime`` reads far faster than botocore's
    dateutil-based parser, the bulk of a large ListParts otherwise. Headers (RFC 1123 dates)
    still go to botocore's parser."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return botocore.utils.parse_timestamp(value)


@functools.lru_cache(maxsize=4)
def _client_for(endpoint_url, access_key, secret_key, region, addressing_style):
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_parse_timestamp
    )
    return boto3.session.Session(botocore_session=core).client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=20,
            max_pool_connections=32,
            # Only send/validate checksums where an operation requires them, so that boto3
            # does not add CRC32 headers of its own to the calls we make.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def client():
    """A boto3 client for the configured S3 (cached; clients are thread-safe)."""
    return _client_for(*_settings_key())


def bucket() -> str:
    return settings.AWS_STORAGE_BUCKET_NAME


def _error(exc: ClientError) -> S3Error:
    error = exc.response.get("Error", {})
    return S3Error(error.get("Code", "Unknown"), error.get("Message", str(exc)))


def _call(operation: str, *, absent: tuple[str, ...] = (), **params):
    """One S3 call with botocore's errors as ``S3Error``; None when S3 answers a code in
    ``absent`` (the thing asked about is not there, which is an answer, not a failure)."""
    try:
        return getattr(client(), operation)(Bucket=bucket(), **params)
    except ClientError as exc:
        error = _error(exc)
        if error.code in absent:
            return None
        raise error from exc
    except BotoCoreError as exc:
        # S3 not answering at all (refused, timed out, cut off) after botocore's retries: a
        # failure like any other S3 error, which callers answer as "unavailable, retry".
        raise S3Error(UNREACHABLE, str(exc)) from exc


# --- Multipart uploads ---------------------------------------------------------------------


def create_multipart_upload(*, key: str, content_type: str, filename: str) -> str:
    response = _call(
        "create_multipart_upload",
        Key=key,
        ContentType=content_type,
        ContentDisposition=attachment_disposition(filename),
        ChecksumAlgorithm="SHA256",
    )
    return response["UploadId"]


def sign_part(
    *,
    key: str,
    upload_id: str,
    part_number: int,
    size: int,
    checksum_sha256: str,
    content_md5: str = "",
    expires_in: int | None = None,
) -> SignedPart:
    """A presigned UploadPart URL that S3 honours only for exactly these bytes.

    Content-Length and x-amz-checksum-sha256 (and Content-MD5 when given) are signed headers:
    a body of another length or content fails the signature or the checksum at S3.
    """
    headers = {"x-amz-checksum-sha256": checksum_sha256}
    if content_md5:
        headers["Content-MD5"] = content_md5
    expires_in = expires_in or settings.UPLOADS_PART_URL_EXPIRES
    signer = part_signer()
    sign = signer.sign_upload_part if signer is not None else botocore_part_url
    url = sign(
        key=key,
        upload_id=upload_id,
        part_number=part_number,
        content_length=size,
        checksum_sha256=checksum_sha256,
        content_md5=content_md5,
        expires_in=expires_in,
    )
    return SignedPart(part_number=part_number, url=url, headers=headers, size=size)


def botocore_part_url(
    *, key, upload_id, part_number, content_length, checksum_sha256, content_md5="", expires_in
) -> str:
    """The reference: what ``PartUrlSigner`` must produce byte for byte, at many times the cost."""
    # The order of Params is the order of the URL's query: the fast signer copies it.
    params = {
        "Bucket": bucket(),
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": part_number,
        "ContentLength": content_length,
        "ChecksumSHA256": checksum_sha256,
    }
    if content_md5:
        params["ContentMD5"] = content_md5
    return client().generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in)


@functools.lru_cache(maxsize=4)
def _signer_for(endpoint_url, access_key, secret_key, region, addressing_style, bucket_name):
    try:
        return PartUrlSigner(
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            endpoint_url=endpoint_url or "",
            addressing_style=addressing_style,
            bucket=bucket_name,
        )
    except UnsupportedConfiguration:
        # A set-up the fast signer does not model (another partition, "auto" addressing…)
        # is signed by botocore instead: slower, never wrong.
        return None


def part_signer() -> PartUrlSigner | None:
    return _signer_for(*_settings_key(), bucket())


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
    url = client().generate_presigned_url(
        "list_parts",
        Params={
            "Bucket": bucket(),
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
    response = _call(
        "complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    # S3 may answer 200 and put the error in the body; botocore turns that into a ClientError,
    # but an answer with neither ETag nor error is still not a completed object.
    if "ETag" not in response:
        raise S3Error("IncompleteResponse", "CompleteMultipartUpload answered without an ETag")
    return response


def abort_multipart_upload(*, key: str, upload_id: str) -> None:
    """Abort; an upload S3 no longer knows counts as aborted."""
    _call("abort_multipart_upload", Key=key, UploadId=upload_id, absent=("NoSuchUpload", "404"))


def list_multipart_uploads(prefix: str = "") -> list[OpenMultipartUpload]:
    uploads: list[OpenMultipartUpload] = []
    kwargs = {"Prefix": prefix}
    while True:
        response = _call("list_multipart_uploads", **kwargs)
        for item in response.get("Uploads", []):
            uploads.append(
                OpenMultipartUpload(item["Key"], item["UploadId"], item.get("Initiated"))
            )
        if not response.get("IsTruncated"):
            return uploads
        kwargs["KeyMarker"] = response.get("NextKeyMarker", "")
        kwargs["UploadIdMarker"] = response.get("NextUploadIdMarker", "")


# --- Objects -------------------------------------------------------------------------------


def head_object(key: str, *, checksums: bool = False) -> dict | None:
    """The object's metadata, or None when there is no such object; with ``checksums``, also
    the checksum S3 keeps for it (``ChecksumSHA256``: for a multipart object, the SHA-256 of
    its parts' SHA-256 digests, then ``-`` and the part count)."""
    extra = {"ChecksumMode": "ENABLED"} if checksums else {}
    return _call("head_object", Key=key, absent=("404", "NoSuchKey", "NotFound"), **extra)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None


def list_objects(prefix: str = ""):
    """Every object under ``prefix``, page by page (1,000 keys per S3 call), as a generator."""
    kwargs = {"Prefix": prefix}
    while True:
        response = _call("list_objects_v2", **kwargs)
        for item in response.get("Contents", []):
            yield StoredObject(item["Key"], item["Size"], item.get("LastModified"))
        if not response.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = response["NextContinuationToken"]


def delete_object(key: str) -> None:
    _call("delete_object", Key=key)


def put_object(*, key: str, body: bytes, content_type: str) -> None:
    _call("put_object", Key=key, Body=body, ContentType=content_type)


def head_object_in(bucket_name: str, key: str) -> dict | None:
    """Like ``head_object``, in another bucket of the same S3 (a source to copy from)."""
    try:
        return client().head_object(Bucket=bucket_name, Key=key)
    except ClientError as exc:
        error = _error(exc)
        if error.code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise error from exc


# S3 copies at most 5 GiB in one CopyObject; larger objects are copied part by part.
MAX_COPY_OBJECT_SIZE = 5 * 1024**3


def copy_object(
    *,
    source_bucket: str,
    source_key: str,
    key: str,
    size: int,
    content_type: str,
    filename: str,
    part_size: int = 512 * 1024 * 1024,
    single_copy_limit: int = MAX_COPY_OBJECT_SIZE,
) -> None:
    """Copy an object into this bucket inside S3 (no byte passes through this process),
    served as ``content_type`` and saved as ``filename``: CopyObject up to
    ``single_copy_limit``, UploadPartCopy in ranges of ``part_size`` above it."""
    source = {"Bucket": source_bucket, "Key": source_key}
    served = {"ContentType": content_type, "ContentDisposition": attachment_disposition(filename)}
    if size <= single_copy_limit:
        _call("copy_object", Key=key, CopySource=source, MetadataDirective="REPLACE", **served)
        return
    upload_id = _call("create_multipart_upload", Key=key, **served)["UploadId"]
    try:
        parts = []
        for number, start in enumerate(range(0, size, part_size), start=1):
            end = min(start + part_size, size) - 1
            answer = _call(
                "upload_part_copy",
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=source,
                CopySourceRange=f"bytes={start}-{end}",
            )
            parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
        complete_multipart_upload(key=key, upload_id=upload_id, parts=parts)
    except Exception:
        abort_multipart_upload(key=key, upload_id=upload_id)
        raise


def read_range(key: str, start: int, end: int) -> bytes:
    """Bytes ``start``..``end`` inclusive."""
    return _call("get_object", Key=key, Range=f"bytes={start}-{end}")["Body"].read()


def sha256_of_object(key: str, size: int, *, chunk: int = 8 * 1024 * 1024, on_progress=None) -> str:
    """Hex SHA-256 of the object, streamed in ranged reads so memory stays at one chunk."""
    digest = hashlib.sha256()
    for start in range(0, size, chunk):
        digest.update(read_range(key, start, min(start + chunk, size) - 1))
        if on_progress:
            on_progress(min(start + chunk, size))
    return digest.hexdigest()


def attachment_disposition(filename: str) -> str:
    """``attachment`` with the filename, RFC 6266/5987 style for non-ASCII names."""
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    ascii_name = "".join(ch for ch in ascii_name if 32 <= ord(ch) < 127) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def presigned_get(*, key: str, filename: str, expires_in: int | None = None) -> str:
    """A short-lived download URL whose response is an attachment of an opaque type.

    Neither AWS nor SeaweedFS lets a presigned GET add X-Content-Type-Options (only the
    response-content-* family can be overridden), so the URL pins what it can: an attachment,
    served as application/octet-stream (SeaweedFS otherwise guesses a type from the key's
    extension), which browsers save and never render. A CDN in front of the bucket (CloudFront's
    security-headers policy) is where nosniff itself can be added.
    """
    return client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket(),
            "Key": key,
            "ResponseContentDisposition": attachment_disposition(filename),
            "ResponseContentType": "application/octet-stream",
        },
        ExpiresIn=expires_in or settings.UPLOADS_DOWNLOAD_URL_EXPIRES,
    )


# Inline URLs already signed, by what they sign: (signed at, URL). A URL is handed out again
# for the first sixth of its life, so that every one handed out stays valid for at least five
# sixths of it; a page or list of many images then costs no signing (botocore's, a fraction of a
# millisecond each), and the browser's cache sees the same URL for the same image.
_inline_urls: dict[tuple, tuple[float, str]] = {}
_INLINE_URLS_KEPT = 20_000


def presigned_inline_get(
    key: str, expires_in: int | None = None, content_type: str = "image/jpeg"
) -> str:
    """A URL for showing an object in a page (an image rendition), with its type pinned."""
    expires_in = expires_in or settings.UPLOADS_INLINE_URL_EXPIRES
    signs = (_settings_key(), bucket(), key, content_type, expires_in)
    now = time.monotonic()
    signed = _inline_urls.get(signs)
    if signed is not None and now - signed[0] < expires_in / 6:
        return signed[1]
    url = client().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket(), "Key": key, "ResponseContentType": content_type},
        ExpiresIn=expires_in,
    )
    if len(_inline_urls) >= _INLINE_URLS_KEPT:
        _inline_urls.clear()
    _inline_urls[signs] = (now, url)
    return url


# --- Bucket set-up and diagnosis -----------------------------------------------------------


def bucket_exists() -> bool:
    return _call("head_bucket", absent=("404", "NoSuchBucket", "NotFound")) is not None


def create_bucket() -> None:
    kwargs = {}
    region = settings.AWS_S3_REGION_NAME
    if region and region != "us-east-1" and not settings.AWS_S3_ENDPOINT_URL:
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    _call("create_bucket", absent=("BucketAlreadyOwnedByYou", "BucketAlreadyExists"), **kwargs)


def cors_rules(origins: list[str]) -> list[dict]:
    return [
        {
            "AllowedOrigins": origins,
            "AllowedMethods": ["PUT", "GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag", "x-amz-checksum-sha256"],
            "MaxAgeSeconds": 3600,
        }
    ]


def put_cors(origins: list[str]) -> None:
    _call("put_bucket_cors", CORSConfiguration={"CORSRules": cors_rules(origins)})


def get_cors() -> list[dict]:
    response = _call("get_bucket_cors", absent=("NoSuchCORSConfiguration", "404"))
    return (response or {}).get("CORSRules", [])


def delete_cors() -> None:
    _call("delete_bucket_cors")


ABORT_RULE_ID = "s7-abort-incomplete-multipart-uploads"


def put_abort_lifecycle(days: int) -> None:
    rule = {
        "ID": ABORT_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
    }
    _call("put_bucket_lifecycle_configuration", LifecycleConfiguration={"Rules": [rule]})


def get_lifecycle_rules() -> list[dict]:
    response = _call(
        "get_bucket_lifecycle_configuration", absent=("NoSuchLifecycleConfiguration", "404")
    )
    return (response or {}).get("Rules", [])
