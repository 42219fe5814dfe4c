"""Presigned UploadPart URLs without botocore's per-call machinery.

botocore's ``generate_presigned_url`` serializes the operation, resolves the endpoint through the
S3 rule set, runs its event handlers and re-parses its own URL several times; that costs about
200 µs a URL, and a browser asks for up to 100 parts at a time. Everything that does not
depend on the part is worked out here once, in the constructor, and the signing key once a day.

The URL is byte-for-byte the one botocore builds for the same inputs and signing time (the tests
prove it against botocore), so S3, SeaweedFS and our own tests cannot tell the two apart.

Only the configurations S7 uses are modelled: AWS's commercial partition and custom endpoints,
with "path" or "virtual" addressing. Anything else raises ``UnsupportedConfiguration`` at
construction, so a deployment that needs botocore's fuller endpoint rules finds out at start-up.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import time
from urllib.parse import quote, urlsplit

__all__ = ["PartUrlSigner", "UnsupportedConfiguration"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# The patterns below are used with fullmatch: botocore's "$" would let a trailing newline through.

# AWS's commercial partition ("aws" in botocore's partitions.json). Other partitions have other
# DNS suffixes and endpoint rules, and "aws-global" is signed as us-east-1 by botocore.
_AWS_REGION = re.compile(r"(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[0-9]+")
# botocore refuses region names that are not a host label.
_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
# botocore's own bucket check (handlers.validate_bucket_name) for plain bucket names.
_BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")
# S3 Express directory buckets, their access points and Outposts aliases have their own
# endpoints (and S3 Express its own session auth).
_SPECIAL_BUCKET_SUFFIXES = ("--x-s3", "--xa-s3", "--op-s3")
_HOST_LABEL = re.compile(r"(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
_IPV4 = re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}")
# Endpoint path prefixes that botocore's normalisation and quoting leave as they are (no empty
# or dot segments, nothing to escape).
_SIMPLE_PATH = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# urllib's quote walks every byte in Python once a string has one character to escape (a space
# in a filename is enough); escaping only the runs that need it is twice as fast, same bytes.
_PERCENT = [f"%{byte:02X}" for byte in range(256)]
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.~/-]+")
_QUERY_UNSAFE = re.compile(r"[^A-Za-z0-9_.~-]+")

MAX_PART_NUMBER = 10_000
MAX_EXPIRES = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week


class UnsupportedConfiguration(ValueError):
    """The endpoint, region, bucket or addressing style is outside what this signer models."""


def _virtual_hostable(bucket: str, *, allow_dots: bool) -> bool:
    # The S3 rule set's aws.isVirtualHostableS3Bucket.
    if len(bucket) < 3 or bucket.lower() != bucket or _IPV4.fullmatch(bucket):
        return False
    labels = bucket.split(".") if allow_dots else [bucket]
    return all(_HOST_LABEL.fullmatch(label) for label in labels)


def _escape(match: re.Match) -> str:
    return "".join([_PERCENT[byte] for byte in match.group().encode()])


def _host_header(scheme: str, netloc: str) -> str:
    # As botocore's auth._host_from_url: lower case, default port dropped.
    parts = urlsplit(f"{scheme}://{netloc}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    return host


class PartUrlSigner:
    """Signs UploadPart URLs for one bucket with one set of static credentials.

    Build one per process and share it between threads: its only mutable state is three
    one-entry caches, each a tuple replaced by a single assignment.
    """

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: str,
        region: str,
        endpoint_url: str,
        addressing_style: str,
        bucket: str,
    ):
        if not access_key or not secret_key:
            raise UnsupportedConfiguration("access_key and secret_key are required")
        if addressing_style not in ("path", "virtual"):
            # botocore's "auto" sends AWS requests to the legacy global endpoint whatever the
            # region, and custom endpoints to path style; nobody here should rely on that.
            raise UnsupportedConfiguration(
                f"addressing_style must be 'path' or 'virtual', not {addressing_style!r}"
            )
        if not _REGION.fullmatch(region or ""):
            raise UnsupportedConfiguration(f"invalid region {region!r}")
        if not _BUCKET.fullmatch(bucket or ""):
            raise UnsupportedConfiguration(f"invalid bucket name {bucket!r}")
        if bucket.endswith(_SPECIAL_BUCKET_SUFFIXES):
            raise UnsupportedConfiguration(f"{bucket!r} is a directory or Outposts bucket")

        if endpoint_url:
            scheme, netloc, base_path = self._custom_endpoint(
                endpoint_url, addressing_style, bucket
            )
        else:
            scheme, netloc, base_path = self._aws_endpoint(region, addressing_style, bucket)

        self._secret = f"AWS4{secret_key}".encode()
        self._region = region
        self._url_prefix = f"{scheme}://{netloc}{base_path}/"
        self._path_prefix = f"{base_path}/"
        self._host = _host_header(scheme, netloc)
        self._credential_head = quote(f"{access_key}/", safe="-_.~")
        self._credential_tail = quote(f"/{region}/s3/aws4_request", safe="-_.~")
        self._scope_tail = f"/{region}/s3/aws4_request"
        self._signing_pads = ("", None, None)
        self._clock: tuple[int, str] = (-1, "")
        # A browser asks for many parts of one upload at a time: same key, same upload id.
        self._last_quoted: tuple[str, str, str, str] = ("", "", "", "")

    @staticmethod
    def _aws_endpoint(region: str, style: str, bucket: str) -> tuple[str, str, str]:
        if not _AWS_REGION.fullmatch(region):
            raise UnsupportedConfiguration(
                f"region {region!r} is not in AWS's commercial partition; use botocore"
            )
        # botocore keeps us-east-1 on the legacy global host unless told otherwise
        # (AWS_S3_US_EAST_1_REGIONAL_ENDPOINT=regional, which S7 does not set).
        service_host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
        # Over https a dotted bucket would not match the wildcard certificate, so the rule set
        # quietly falls back to path style for it, as for any name that is not a DNS label.
        if style == "virtual" and _virtual_hostable(bucket, allow_dots=False):
            return "https", f"{bucket}.{service_host}", ""
        return "https", service_host, f"/{bucket}"

    @staticmethod
    def _custom_endpoint(endpoint_url: str, style: str, bucket: str) -> tuple[str, str, str]:
        parts = urlsplit(endpoint_url)
        try:
            port_ok = parts.port is None or parts.port >= 0
        except ValueError:
            port_ok = False
        if (
            parts.scheme not in _DEFAULT_PORTS
            or not parts.hostname
            or not port_ok
            or "@" in parts.netloc
            or parts.query
            or parts.fragment
            or not _SIMPLE_PATH.fullmatch(parts.path)
        ):
            raise UnsupportedConfiguration(f"unsupported endpoint URL {endpoint_url!r}")
        is_ip = bool(_IPV4.fullmatch(parts.hostname)) or "[" in parts.netloc
        virtual = False
        if style == "virtual":
            if _virtual_hostable(bucket, allow_dots=False):
                virtual = not is_ip
            elif parts.scheme == "http" and _virtual_hostable(bucket, allow_dots=True):
                # The rule set lets a dotted bucket be a host name where no certificate is
                # checked, and forgets to ask whether the endpoint is an IP address first.
                if is_ip:
                    raise UnsupportedConfiguration(
                        f"botocore would sign {bucket}.{parts.netloc}, which is not a host"
                    )
                virtual = True
        if virtual:
            # Virtual style keeps the endpoint's path as given; botocore's urljoin then drops
            # one trailing slash before the key.
            return parts.scheme, f"{bucket}.{parts.netloc}", parts.path.removesuffix("/")
        # Path style (also the fallback for IP endpoints) uses the normalised path, which always
        # ends in a slash, with the bucket after it.
        return parts.scheme, parts.netloc, f"{parts.path.removesuffix('/')}/{bucket}"

    def _amz_date(self, now: datetime.datetime | None) -> str:
        if now is None:
            second = int(time.time())
            cached_second, stamp = self._clock
            if second != cached_second:
                stamp = time.strftime(_AMZ_DATE, time.gmtime(second))
                self._clock = (second, stamp)
            return stamp
        if now.tzinfo is not None:
            now = now.astimezone(datetime.UTC)
        # Naive times are UTC, as botocore's own clock is.
        return now.strftime(_AMZ_DATE)

    def _pads_for(self, datestamp: str):
        cached_date, inner, outer = self._signing_pads
        if cached_date != datestamp:
            key = hmac.digest(self._secret, datestamp.encode(), "sha256")
            for part in (self._region, "s3", "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            # HMAC (RFC 2104) with the two padded-key blocks hashed once a day instead of once
            # a signature: the final HMAC is then two hash copies and updates.
            block = key.ljust(64, b"\0")
            inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
            outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
            self._signing_pads = (datestamp, inner, outer)
        return inner, outer

    def sign_upload_part(
        self,
        *,
        key: str,
        upload_id: str,
        part_number: int,
        content_length: int,
        checksum_sha256: str,
        content_md5: str = "",
        expires_in: int,
        now: datetime.datetime | None = None,
    ) -> str:
        """A presigned PUT URL for one part; S3 checks its length, SHA-256 (and MD5 if given)."""
        if not key:
            raise ValueError("key must not be empty")
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise ValueError(f"part_number must be 1..{MAX_PART_NUMBER}, not {part_number}")
        if content_length < 0:
            raise ValueError("content_length must not be negative")
        if not 1 <= expires_in <= MAX_EXPIRES:
            raise ValueError(f"expires_in must be 1..{MAX_EXPIRES} seconds")

        amz_date = self._amz_date(now)
        datestamp = amz_date[:8]
        last_key, last_upload_id, path, upload_id_q = self._last_quoted
        if key != last_key or upload_id != last_upload_id:
            # botocore quotes the greedy {Key+} label keeping "/" and "~", and S3 signs that
            # path as it is: no normalisation, no second round of quoting.
            path = _KEY_UNSAFE.sub(_escape, key)
            upload_id_q = _QUERY_UNSAFE.sub(_escape, upload_id)
            self._last_quoted = (key, upload_id, path, upload_id_q)
        credential = f"{self._credential_head}{datestamp}{self._credential_tail}"
        # botocore trims header values (Trimall) before signing them.
        checksum = " ".join(checksum_sha256.split())
        if content_md5:
            md5 = " ".join(content_md5.split())
            signed_headers = "content-length;content-md5;host;x-amz-checksum-sha256"
            signed_headers_q = "content-length%3Bcontent-md5%3Bhost%3Bx-amz-checksum-sha256"
            headers = (
                f"content-length:{content_length}\ncontent-md5:{md5}\n"
                f"host:{self._host}\nx-amz-checksum-sha256:{checksum}\n"
            )
        else:
            signed_headers = "content-length;host;x-amz-checksum-sha256"
            signed_headers_q = "content-length%3Bhost%3Bx-amz-checksum-sha256"
            headers = (
                f"content-length:{content_length}\n"
                f"host:{self._host}\nx-amz-checksum-sha256:{checksum}\n"
            )
        # The canonical query is sorted by name (upper case first); the URL keeps the operation's
        # parameters first, in the order sign_part hands them to botocore, then the auth ones.
        auth_query = (
            f"X-Amz-Algorithm={_ALGORITHM}&X-Amz-Credential={credential}"
            f"&X-Amz-Date={amz_date}&X-Amz-Expires={expires_in}"
            f"&X-Amz-SignedHeaders={signed_headers_q}"
        )
        canonical_request = (
            f"PUT\n{self._path_prefix}{path}\n"
            f"{auth_query}&partNumber={part_number}&uploadId={upload_id_q}\n"
            f"{headers}\n{signed_headers}\nUNSIGNED-PAYLOAD"
        )
        string_to_sign = (
            f"{_ALGORITHM}\n{amz_date}\n{datestamp}{self._scope_tail}\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        inner, outer = self._pads_for(datestamp)
        inner = inner.copy()
        inner.update(string_to_sign.encode())
        outer = outer.copy()
        outer.update(inner.digest())
        signature = outer.hexdigest()
        return (
            f"{self._url_prefix}{path}?uploadId={upload_id_q}&partNumber={part_number}"
            f"&{auth_query}&X-Amz-Signature={signature}"
        )
