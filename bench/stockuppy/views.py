"""The signing endpoints stock Uppy's S3 multipart plugin calls, the way a minimal backend
without checksums would write them: create, sign one part, complete and abort, each one boto3
call. The browser's bundle is built by the bench (bench/browser.py) and served from a file."""

import json
import os
import uuid

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from uploads.storage.connection import bucket_name, s3_client

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Stock Uppy</title>
<link rel="stylesheet" href="/static/uploads/uploader.css"></head>
<body><div id="stock"></div><script src="/bench/stock/uploader.js"></script></body></html>
"""


@login_required
@ensure_csrf_cookie
def page(request):
    return HttpResponse(PAGE)


def bundle(request):
    return FileResponse(
        open(os.environ["BENCH_STOCK_UPPY_JS"], "rb"), content_type="text/javascript"
    )


def _body(request) -> dict:
    return json.loads(request.body or b"{}")


@login_required
@require_POST
def create(request):
    body = _body(request)
    key = f"bench/stock-uppy/{uuid.uuid4()}/{os.path.basename(body['filename'])}"
    answer = s3_client().create_multipart_upload(
        Bucket=bucket_name(), Key=key, ContentType=body.get("type") or "application/octet-stream"
    )
    return JsonResponse({"uploadId": answer["UploadId"], "key": key})


@login_required
@require_POST
def sign(request):
    body = _body(request)
    url = s3_client().generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": bucket_name(),
            "Key": body["key"],
            "UploadId": body["uploadId"],
            "PartNumber": int(body["partNumber"]),
        },
        ExpiresIn=600,
    )
    return JsonResponse({"url": url, "method": "PUT"})


@login_required
@require_POST
def complete(request):
    body = _body(request)
    parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in body["parts"]]
    answer = s3_client().complete_multipart_upload(
        Bucket=bucket_name(),
        Key=body["key"],
        UploadId=body["uploadId"],
        MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
    )
    return JsonResponse({"location": answer.get("Location", ""), "key": body["key"]})


@login_required
@require_POST
def abort(request):
    body = _body(request)
    s3_client().abort_multipart_upload(
        Bucket=bucket_name(), Key=body["key"], UploadId=body["uploadId"]
    )
    return JsonResponse({})
