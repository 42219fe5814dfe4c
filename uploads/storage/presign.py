"""Presigned URLs: a part's upload, an object's download, an image shown in a page. Signing
makes no request to S3."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from uploads.conf import settings
from uploads.storage.connection import bucket_name, s3_client, settings_key
from uploads.storage.disposition import attachment_disposition
from uploads.storage.sigv4 import PartUrlSigner, UnsupportedConfiguration


@dataclass(frozen=True)
class SignedPart:
    part_number: int
    url: str
    headers: dict[str, str]
    size: int


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
        "Bucket": bucket_name(),
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": part_number,
        "ContentLength": content_length,
        "ChecksumSHA256": checksum_sha256,
    }
    if content_md5:
        params["ContentMD5"] = content_md5
    return s3_client().generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in)


@functools.lru_cache(maxsize=4)
def _signer_for(endpoint_url, access_key, secret_key, region, addressing_style, bucket):
    try:
        return PartUrlSigner(
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            endpoint_url=endpoint_url or "",
            addressing_style=addressing_style,
            bucket=bucket,
        )
    except UnsupportedConfiguration:
        # A set-up the fast signer does not model (another partition, "auto" addressing…)
        # is signed by botocore instead: slower, never wrong.
        return None


def part_signer() -> PartUrlSigner | None:
    return _signer_for(*settings_key(), bucket_name())


def presigned_get(*, key: str, filename: str, expires_in: int | None = None) -> str:
    """A short-lived download URL whose response is an attachment of an opaque type.

    Neither AWS nor SeaweedFS lets a presigned GET add X-Content-Type-Options (only the
    response-content-* family can be overridden), so the URL pins what it can: an attachment,
    served as application/octet-stream (SeaweedFS otherwise guesses a type from the key's
    extension), which browsers save and never render. A CDN in front of the bucket (CloudFront's
    security-headers policy) is where nosniff itself can be added.
    """
    return s3_client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket_name(),
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
    signs = (settings_key(), bucket_name(), key, content_type, expires_in)
    now = time.monotonic()
    signed = _inline_urls.get(signs)
    if signed is not None and now - signed[0] < expires_in / 6:
        return signed[1]
    url = s3_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket_name(), "Key": key, "ResponseContentType": content_type},
        ExpiresIn=expires_in,
    )
    if len(_inline_urls) >= _INLINE_URLS_KEPT:
        _inline_urls.clear()
    _inline_urls[signs] = (now, url)
    return url
