"""The fast UploadPart signer against botocore itself: same inputs and signing time, same bytes.

Pure: no network, no database, no Django settings. botocore's clock is frozen by patching
``botocore.auth.get_current_datetime``, the one place its SigV4 signers read the time.
"""

import base64
import datetime
import functools
import os
import string
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import create_loader
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from uploads.storage.sigv4 import PartUrlSigner, UnsupportedConfiguration

CREDENTIALS = [
    ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("s7-access", "s7-secret"),
    ("AK/ID+~", "se+cr/et=é"),
]
AWS_REGIONS = sorted(
    region
    for partition in create_loader().load_data("partitions")["partitions"]
    if partition["id"] == "aws"
    for region in partition["regions"]
    if region != "aws-global"
)
WHEN = datetime.datetime(2025, 3, 9, 23, 59, 59)


# --- botocore, as uploads.s3.sign_part calls it ----------------------------------------------


@functools.cache
def _botocore_session():
    return botocore.session.get_session()


@functools.lru_cache(maxsize=512)
def botocore_client(access_key, secret_key, region, endpoint_url, addressing_style):
    # Keep the machine's AWS settings (AWS_ENDPOINT_URL_S3, us-east-1 regional endpoint, config
    # files) out of the reference client: the signer models botocore's defaults.
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean_env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    with mock.patch.dict(os.environ, clean_env, clear=True):
        return _botocore_session().create_client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": addressing_style},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


def botocore_url(config, *, when, expires_in, **part):
    """What uploads.s3.sign_part gets from botocore (same Params, in the same order)."""
    params = {
        "Bucket": config["bucket"],
        "Key": part["key"],
        "UploadId": part["upload_id"],
        "PartNumber": part["part_number"],
        "ContentLength": part["content_length"],
        "ChecksumSHA256": part["checksum_sha256"],
    }
    if part.get("content_md5"):
        params["ContentMD5"] = part["content_md5"]
    client = botocore_client(
        config["access_key"],
        config["secret_key"],
        config["region"],
        config["endpoint_url"],
        config["addressing_style"],
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        return client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in)


@functools.lru_cache(maxsize=512)
def _signer(access_key, secret_key, region, endpoint_url, addressing_style, bucket):
    return PartUrlSigner(
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        endpoint_url=endpoint_url,
        addressing_style=addressing_style,
        bucket=bucket,
    )


def signer(config):
    # Shared per configuration, so that examples also cross its cached signing key's dates.
    return _signer(**config)


def aws(region="us-east-1", style="virtual", bucket="s7-files", credentials=CREDENTIALS[0]):
    access_key, secret_key = credentials
    return dict(
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        endpoint_url="",
        addressing_style=style,
        bucket=bucket,
    )


def custom(endpoint_url, style="path", bucket="s7-files", region="us-east-1"):
    return {**aws(region, style, bucket), "endpoint_url": endpoint_url}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PART = dict(
    key="uploads/version_file/0b7e2c3a-5f1d-4a8e-9c6b-2d4f8e1a7b3c/Marathon Infinity+ (v1.2)~.zip",
    upload_id="2~VXBsb2FkIElE/IGZvciA2+aGE-_.ZXMgcGFydA==",
    part_number=17,
    content_length=8 * 1024 * 1024,
    checksum_sha256=b64(b"\x17" * 32),
    content_md5=b64(b"\x05" * 16),
)


# --- Strategies ------------------------------------------------------------------------------

# Characters that quoting, URL splitting or query parsing treat specially, so that they come up
# far more often than in arbitrary text.
_ODD = " +%~/.-_!*'()&$@=;:,?#[]{}^`|\\\"<>\t\n\r\x00\x7f" + "éü日本語🎮\u00a0\u200b\ufeff"
_key_chars = st.one_of(
    st.sampled_from(_ODD),
    st.sampled_from(string.ascii_letters + string.digits),
    st.characters(exclude_categories=("Cs",)),  # any code point a str may hold in UTF-8
)
keys = st.one_of(
    st.text(_key_chars, min_size=1, max_size=80),
    st.lists(st.text(_key_chars, max_size=12), min_size=2, max_size=8).map("/".join),
    st.sampled_from(
        ["/", "//", "a//b", "/lead", "trail/", ".", "..", "a/../b", "./a", "~", "+", "%", "%2F"]
    ),
).filter(lambda key: key and len(key.encode()) <= 1024)

upload_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9._-]{1,120}", fullmatch=True),
    st.text(_key_chars, min_size=1, max_size=60),
)

virtual_buckets = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]", fullmatch=True)
dotted_buckets = (
    st.lists(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=2)
    .map(".".join)
    .filter(lambda bucket: 3 <= len(bucket) <= 63)
)
legacy_buckets = st.from_regex(r"[A-Za-z0-9._-]{1,80}", fullmatch=True)
buckets = st.one_of(
    st.sampled_from(
        ["s7-files", "s7.test", "abc", "a--b", "bucket-", "-bucket", "192.168.1.1", "My_Bucket"]
    ),
    virtual_buckets,
    dotted_buckets,
    legacy_buckets,
)

aws_configs = st.builds(
    aws,
    region=st.sampled_from([*AWS_REGIONS, "us-east-1", "eu-west-1", "mx-future-7"]),
    style=st.sampled_from(["path", "virtual"]),
    bucket=buckets,
    credentials=st.sampled_from(CREDENTIALS),
)


@st.composite
def endpoint_urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(
        st.sampled_from(
            ["127.0.0.1", "10.0.0.7", "localhost", "s3.example.com", "S3.Example.COM", "[::1]"]
        )
    )
    port = draw(st.sampled_from(["", ":80", ":443", ":8333", ":9000", ":1"]))
    path = draw(st.sampled_from(["", "/", "/s3", "/s3/", "/a/b~c_d-e/", "/a.b"]))
    return f"{scheme}://{host}{port}{path}"


custom_configs = st.builds(
    lambda endpoint, style, bucket, region, credentials: {
        **custom(endpoint, style, bucket, region),
        "access_key": credentials[0],
        "secret_key": credentials[1],
    },
    endpoint=endpoint_urls(),
    style=st.sampled_from(["path", "virtual"]),
    bucket=buckets,
    region=st.sampled_from(["us-east-1", "eu-west-1", "local", "seaweedfs", "US-EAST-1"]),
    credentials=st.sampled_from(CREDENTIALS),
)

_zones = st.sampled_from(
    [
        datetime.UTC,
        datetime.timezone(datetime.timedelta(hours=-11, minutes=-30)),
        datetime.timezone(datetime.timedelta(hours=14)),
    ]
)
_first, _last = datetime.datetime(1971, 1, 1), datetime.datetime(2199, 12, 31)
moments = st.one_of(
    st.datetimes(min_value=_first, max_value=_last),
    st.datetimes(min_value=_first, max_value=_last, timezones=_zones),
    # The seconds around midnight UTC, where the date in the scope changes.
    st.integers(-2, 2).map(lambda s: datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=s)),
)


def naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


# --- Tests ---------------------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=st.one_of(aws_configs, custom_configs),
    key=keys,
    upload_id=upload_ids,
    part_number=st.integers(1, 10_000),
    content_length=st.integers(0, 5 * 1024**3),
    checksum=st.binary(min_size=32, max_size=32).map(b64),
    md5=st.one_of(st.just(""), st.binary(min_size=16, max_size=16).map(b64)),
    expires_in=st.integers(1, 7 * 24 * 3600),
    now=moments,
)
def test_it_matches_botocore_for_any_inputs(
    config, key, upload_id, part_number, content_length, checksum, md5, expires_in, now
):
    try:
        fast = signer(config)
    except UnsupportedConfiguration as exc:
        event(f"unsupported: {str(exc)[:20]}")
        # Checked case by case in test_it_refuses_configurations_it_does_not_model.
        assume(False)
    part = dict(
        key=key,
        upload_id=upload_id,
        part_number=part_number,
        content_length=content_length,
        checksum_sha256=checksum,
        content_md5=md5,
    )

    url = fast.sign_upload_part(**part, expires_in=expires_in, now=now)

    where = "custom" if config["endpoint_url"] else "aws"
    bucket_in_host = urlsplit(url).netloc.startswith(f"{config['bucket']}.")
    event(f"{where} {config['addressing_style']}, bucket in {'host' if bucket_in_host else 'path'}")
    assert url == botocore_url(config, when=naive_utc(now), expires_in=expires_in, **part)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(custom("http://127.0.0.1:8333", "path", "s7-test"), id="seaweedfs"),
        pytest.param(custom("http://127.0.0.1:8333", "virtual", "s7-test"), id="seaweedfs-virtual"),
        pytest.param(custom("http://localhost:8333/", "virtual", "s7-test"), id="localhost"),
        pytest.param(custom("https://s3.example.com:443/s3/", "path"), id="proxy-with-prefix"),
        pytest.param(aws("us-east-1", "virtual"), id="aws-us-east-1"),
        pytest.param(aws("eu-west-1", "virtual"), id="aws-eu-west-1"),
        pytest.param(aws("us-east-1", "path"), id="aws-us-east-1-path"),
        pytest.param(aws("eu-west-1", "virtual", "s7.files"), id="aws-dotted-bucket"),
    ],
)
@pytest.mark.parametrize("content_md5", ["", PART["content_md5"]], ids=["sha256", "sha256+md5"])
def test_it_matches_botocore_for_the_deployments_s7_runs(config, content_md5):
    part = {**PART, "content_md5": content_md5}

    url = signer(config).sign_upload_part(**part, expires_in=900, now=WHEN)

    assert url == botocore_url(config, when=WHEN, expires_in=900, **part)


@pytest.mark.parametrize(
    "config, host",
    [
        (aws("us-east-1", "virtual"), "s7-files.s3.amazonaws.com"),
        (aws("eu-west-1", "virtual"), "s7-files.s3.eu-west-1.amazonaws.com"),
        (aws("us-east-1", "path"), "s3.amazonaws.com"),
        (aws("eu-west-1", "path"), "s3.eu-west-1.amazonaws.com"),
        (aws("eu-west-1", "virtual", "s7.files"), "s3.eu-west-1.amazonaws.com"),
        (aws("eu-west-1", "virtual", "S7-Files"), "s3.eu-west-1.amazonaws.com"),
        (custom("http://127.0.0.1:8333", "virtual"), "127.0.0.1:8333"),
        (custom("http://[::1]:8333", "virtual"), "[::1]:8333"),
        (custom("http://localhost:8333", "virtual"), "s7-files.localhost:8333"),
        (custom("http://localhost:8333", "virtual", "s7.files"), "s7.files.localhost:8333"),
        (custom("https://localhost:8333", "virtual", "s7.files"), "localhost:8333"),
        (custom("http://localhost:8333", "virtual", "192.168.1.1"), "localhost:8333"),
        (custom("http://LocalHost:80", "virtual"), "s7-files.LocalHost:80"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_it_builds_the_host_names_botocore_builds(config, host):
    url = signer(config).sign_upload_part(**PART, expires_in=60, now=WHEN)

    assert urlsplit(url).netloc == host
    assert url == botocore_url(config, when=WHEN, expires_in=60, **PART)


@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize("region", AWS_REGIONS)
def test_it_knows_every_region_of_the_aws_partition(region, style):
    config = aws(region, style)

    url = signer(config).sign_upload_part(**PART, expires_in=3600, now=WHEN)

    assert url == botocore_url(config, when=WHEN, expires_in=3600, **PART)


def test_it_signs_with_the_current_time_by_default():
    config = custom("http://127.0.0.1:8333")
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0, tzinfo=None)

    url = signer(config).sign_upload_part(**PART, expires_in=900)

    after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    amz_date = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    assert before <= signed_at <= after
    assert url == botocore_url(config, when=signed_at, expires_in=900, **PART)


def test_it_renews_the_signing_key_when_the_day_changes():
    config = aws("eu-west-1", bucket="s7-day-change")
    fast = signer(config)
    days = [WHEN, WHEN + datetime.timedelta(seconds=1), WHEN, WHEN + datetime.timedelta(days=400)]

    for when in days:
        url = fast.sign_upload_part(**PART, expires_in=900, now=when)
        assert url == botocore_url(config, when=when, expires_in=900, **PART)


def test_it_reads_an_aware_time_as_its_utc_instant():
    fast = signer(custom("http://127.0.0.1:8333"))
    in_auckland = WHEN.replace(tzinfo=datetime.UTC).astimezone(
        datetime.timezone(datetime.timedelta(hours=13))
    )

    assert fast.sign_upload_part(**PART, expires_in=900, now=in_auckland) == fast.sign_upload_part(
        **PART, expires_in=900, now=WHEN
    )


def test_it_puts_the_operation_parameters_first_in_sign_parts_order():
    url = signer(aws()).sign_upload_part(**PART, expires_in=900, now=WHEN)

    names = [pair.split("=")[0] for pair in urlsplit(url).query.split("&")]
    assert names == [
        "uploadId",
        "partNumber",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ]


def test_it_signs_content_md5_only_when_given():
    fast = signer(aws())

    def signed_headers(**part):
        url = fast.sign_upload_part(**{**PART, **part}, expires_in=900, now=WHEN)
        return parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]

    assert signed_headers() == "content-length;content-md5;host;x-amz-checksum-sha256"
    assert signed_headers(content_md5="") == "content-length;host;x-amz-checksum-sha256"


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(aws(style="auto"), id="auto-addressing"),
        pytest.param(aws("aws-global"), id="aws-global"),
        pytest.param(aws("cn-north-1"), id="china"),
        pytest.param(aws("us-gov-west-1"), id="govcloud"),
        pytest.param(aws("eusc-de-east-1"), id="sovereign-cloud"),
        pytest.param(aws("local"), id="not-an-aws-region"),
        pytest.param(aws(""), id="no-region"),
        pytest.param(aws("eu_west_1"), id="region-not-a-host-label"),
        pytest.param(aws(bucket="a/b"), id="slash-in-bucket"),
        pytest.param(aws(bucket="s7-files\n"), id="newline-after-bucket"),
        pytest.param(aws(bucket="arn:aws:s3:us-east-1:123456789012:accesspoint/x"), id="arn"),
        pytest.param(aws(bucket="s7--use1-az4--x-s3"), id="directory-bucket"),
        pytest.param(aws(credentials=("", "secret")), id="no-access-key"),
        pytest.param(custom("ftp://127.0.0.1:8333"), id="ftp"),
        pytest.param(custom("127.0.0.1:8333"), id="no-scheme"),
        pytest.param(custom("http://user:pw@127.0.0.1:8333"), id="userinfo"),
        pytest.param(custom("http://127.0.0.1:8333/?x=1"), id="query"),
        pytest.param(custom("http://127.0.0.1:8333/a/../b"), id="dot-segments"),
        pytest.param(custom("http://127.0.0.1:8333//a"), id="empty-segment"),
        pytest.param(custom("http://127.0.0.1:8333/a%20b"), id="quoted-path"),
        pytest.param(custom("http://127.0.0.1:99999"), id="bad-port"),
        pytest.param(
            custom("http://127.0.0.1:8333", "virtual", "s7.files"), id="dotted-bucket-before-ip"
        ),
    ],
)
def test_it_refuses_configurations_it_does_not_model(config):
    with pytest.raises(UnsupportedConfiguration):
        PartUrlSigner(**config)


@pytest.mark.parametrize(
    "change",
    [
        {"part_number": 0},
        {"part_number": 10_001},
        {"content_length": -1},
        {"expires_in": 0},
        {"expires_in": 7 * 24 * 3600 + 1},
        {"key": ""},
    ],
    ids=str,
)
def test_it_refuses_parts_s3_would_refuse(change):
    with pytest.raises(ValueError):
        signer(aws()).sign_upload_part(**{**PART, "expires_in": 900, **change}, now=WHEN)
