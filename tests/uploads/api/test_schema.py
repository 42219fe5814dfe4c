"""The OpenAPI schema of the upload API."""

import pytest

from uploads.api import services
from uploads.core.plan import MAX_S3_OBJECT_SIZE

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_served(alice_api):
    response = alice_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/uploads/{id}/complete/" in response.json()["paths"]


def test_the_schema_documents_the_optional_counters(alice_api):
    schema = alice_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def request_body(path):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        reference = content["application/json"]["schema"]["$ref"]
        return schema["components"]["schemas"][reference.rsplit("/", 1)[1]]

    for path in ["/api/uploads/{id}/progress/", "/api/uploads/{id}/complete/"]:
        body = request_body(path)
        assert {"parts_retried", "resumed"} <= set(body["properties"]), path
        assert not {"parts_retried", "resumed"} & set(body.get("required", [])), path
        assert body["properties"]["parts_retried"]["minimum"] == 0
        assert body["properties"]["parts_retried"]["maximum"] == services.MAX_PARTS_RETRIED
    progress_body = request_body("/api/uploads/{id}/progress/")
    assert progress_body["properties"]["bytes_uploaded"]["maximum"] == MAX_S3_OBJECT_SIZE
