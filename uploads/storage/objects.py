"""Objects in the bucket: their metadata, their bytes, writing, deleting, listing and copying
them. Each function is one S3 call (or one per page or part); callers keep them out of DB
transactions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from uploads.storage.connection import NO_SUCH_OBJECT, call
from uploads.storage.disposition import attachment_disposition
from uploads.storage.multipart import abort_multipart_upload, complete_multipart_upload


def head_object(key: str, *, checksums: bool = False) -> dict | None:
    """The object's metadata, or None when there is no such object; with ``checksums``, also
    the checksum S3 keeps for it (``ChecksumSHA256``: for a multipart object, the SHA-256 of
    its parts' SHA-256 digests, then ``-`` and the part count)."""
    extra = {"ChecksumMode": "ENABLED"} if checksums else {}
    return call("head_object", Key=key, absent=NO_SUCH_OBJECT, **extra)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None


def list_objects(prefix: str = ""):
    """Every object under ``prefix``, page by page (1,000 keys per S3 call), as a generator."""
    kwargs = {"Prefix": prefix}
    while True:
        response = call("list_objects_v2", **kwargs)
        for item in response.get("Contents", []):
            yield StoredObject(item["Key"], item["Size"], item.get("LastModified"))
        if not response.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = response["NextContinuationToken"]


def delete_object(key: str) -> None:
    call("delete_object", Key=key)


def put_object(*, key: str, body: bytes, content_type: str) -> None:
    call("put_object", Key=key, Body=body, ContentType=content_type)


def head_object_in(source_bucket: str, key: str) -> dict | None:
    """Like ``head_object``, in another bucket of the same S3 (a source to copy from)."""
    return call("head_object", bucket=source_bucket, Key=key, absent=NO_SUCH_OBJECT)


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
        call("copy_object", Key=key, CopySource=source, MetadataDirective="REPLACE", **served)
        return
    upload_id = call("create_multipart_upload", Key=key, **served)["UploadId"]
    try:
        parts = []
        for number, start in enumerate(range(0, size, part_size), start=1):
            end = min(start + part_size, size) - 1
            answer = call(
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
    return call("get_object", Key=key, Range=f"bytes={start}-{end}")["Body"].read()


def sha256_of_object(key: str, size: int, *, chunk: int = 8 * 1024 * 1024) -> str:
    """Hex SHA-256 of the object, streamed in ranged reads so memory stays at one chunk."""
    digest = hashlib.sha256()
    for start in range(0, size, chunk):
        digest.update(read_range(key, start, min(start + chunk, size) - 1))
    return digest.hexdigest()
