"""The bucket's own set-up, for ``s3_setup`` and ``s3_doctor``: that it exists, its CORS rule
(browsers PUT parts straight to it) and the lifecycle rule that aborts forgotten multipart
uploads."""

from __future__ import annotations

from uploads.conf import settings
from uploads.storage.connection import call


def bucket_exists() -> bool:
    return call("head_bucket", absent=("404", "NoSuchBucket", "NotFound")) is not None


def create_bucket() -> None:
    kwargs = {}
    region = settings.AWS_S3_REGION_NAME
    if region and region != "us-east-1" and not settings.AWS_S3_ENDPOINT_URL:
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    call("create_bucket", absent=("BucketAlreadyOwnedByYou", "BucketAlreadyExists"), **kwargs)


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
    call("put_bucket_cors", CORSConfiguration={"CORSRules": cors_rules(origins)})


def get_cors() -> list[dict]:
    response = call("get_bucket_cors", absent=("NoSuchCORSConfiguration", "404"))
    return (response or {}).get("CORSRules", [])


ABORT_RULE_ID = "s7-abort-incomplete-multipart-uploads"


def put_abort_lifecycle(days: int) -> None:
    rule = {
        "ID": ABORT_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
    }
    call("put_bucket_lifecycle_configuration", LifecycleConfiguration={"Rules": [rule]})


def get_lifecycle_rules() -> list[dict]:
    response = call(
        "get_bucket_lifecycle_configuration", absent=("NoSuchLifecycleConfiguration", "404")
    )
    return (response or {}).get("Rules", [])
