"""What the OpenAPI schema promises, read as a client reads it."""

import pytest


@pytest.fixture
def schema(anonymous_api):
    response = anonymous_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def resolve(schema, node):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


@pytest.mark.django_db
def test_every_operation_documents_its_errors_with_a_json_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "429", "503"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= statuses, (method, path)
            error = operation["responses"]["503"]["content"]["application/json"]["schema"]
            assert resolve(schema, error)["properties"]["detail"]["type"] == "string"


@pytest.mark.django_db
def test_the_upload_operations_document_conflicts_and_what_delete_leaves(schema):
    uploads = schema["paths"]["/api/uploads/{id}/"]
    assert "409" in uploads["delete"]["responses"]
    assert "state `aborted`" in uploads["delete"]["description"]
    assert "409" in schema["paths"]["/api/uploads/{id}/complete/"]["post"]["responses"]
    assert "413" in schema["paths"]["/api/uploads/"]["post"]["responses"]


@pytest.mark.django_db
def test_the_schema_states_the_constraints_the_api_enforces(schema):
    sign = resolve(schema, schema["paths"]["/api/uploads/{id}/parts/"]["post"]["requestBody"]
                   ["content"]["application/json"]["schema"])  # fmt: skip
    parts = sign["properties"]["parts"]
    assert (parts["minItems"], parts["maxItems"]) == (1, 100)
    part = resolve(schema, parts["items"])
    assert part["properties"]["checksum_sha256"]["pattern"] == "^[A-Za-z0-9+/]{43}=$"
    create = resolve(schema, schema["paths"]["/api/uploads/"]["post"]["requestBody"]
                     ["content"]["application/json"]["schema"])  # fmt: skip
    assert set(resolve(schema, create["properties"]["purpose"])["enum"]) == {
        "version_file",
        "screenshot",
    }
    assert create["properties"]["size"]["minimum"] == 1
    item = schema["components"]["schemas"]["Item"]
    assert item["properties"]["url"]["format"] == "uri"
    assert item["properties"]["tc"]["nullable"] is True


@pytest.mark.django_db
def test_item_urls_are_absolute(anonymous_api, alice):
    from tests.fixtures.site import make_item

    make_item(alice, "Infinity Redux")
    (item,) = anonymous_api.get("/api/items/").json()["results"]
    assert item["url"] == "http://testserver/items/infinity-redux/"


@pytest.mark.django_db
def test_an_api_url_that_matches_no_route_answers_json_404(alice_api):
    response = alice_api.get("/api/uploads/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
