"""The connection to S3: its client, its bucket, and the one place that turns the client's
errors into ours (``call``). Every other module of ``uploads.storage`` calls S3 through here."""

from __future__ import annotations

import functools
from datetime import datetime

import boto3
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from uploads.conf import settings


class S3Error(Exception):
    """S3 refused or failed a call; ``code`` is S3's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# The code of an S3Error when S3 could not be reached at all.
UNREACHABLE = "Unreachable"

# What S3 answers when the object asked about is not there.
NO_SUCH_OBJECT = ("404", "NoSuchKey", "NotFound")


def settings_key() -> tuple:
    """The settings a client (and a signer) is made from: a change of any makes a new one."""
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


def s3_client():
    """A boto3 client for the configured S3 (cached; clients are thread-safe)."""
    return _client_for(*settings_key())


def bucket_name() -> str:
    return settings.AWS_STORAGE_BUCKET_NAME


def call(operation: str, *, absent: tuple[str, ...] = (), bucket: str | None = None, **params):
    """One S3 call on the bucket (or ``bucket``) with botocore's errors as ``S3Error``; None
    when S3 answers a code in ``absent`` (the thing asked about is not there, which is an
    answer, not a failure)."""
    try:
        return getattr(s3_client(), operation)(Bucket=bucket or bucket_name(), **params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        if code in absent:
            return None
        raise S3Error(code, error.get("Message", str(exc))) from exc
    except BotoCoreError as exc:
        # S3 not answering at all (refused, timed out, cut off) after botocore's retries: a
        # failure like any other S3 error, which callers answer as "unavailable, retry".
        raise S3Error(UNREACHABLE, str(exc)) from exc
