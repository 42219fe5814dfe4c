"""Every answer under /api/ is JSON, errors included, whoever makes them: the URL resolver (an
id of the wrong form), Django's error pages (in DEBUG too), a server error."""

import pytest
from django.test import Client, override_settings

from tests.fixtures.failing_urls import FAILURE_MESSAGE

pytestmark = pytest.mark.django_db

WRONG_FORMS = [
    "/api/items/0.5/",
    "/api/items/-1/",
    "/api/items/%00/",
    "/api/uploads/null,null/",
    "/api/uploads/null,null/parts/",
    "/api/uploads/0.5/progress/",
    "/api/no-such-list/",
    "/api/",
]


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize("path", WRONG_FORMS)
def test_a_path_of_the_wrong_form_answers_a_json_404(alice_api, path):
    assert_json_error(alice_api.get(path), 404)


@pytest.mark.parametrize("path", WRONG_FORMS)
def test_with_debug_on_it_still_answers_a_json_404(alice_api, settings, path):
    settings.DEBUG = True
    assert_json_error(alice_api.get(path), 404)


def test_pages_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/items/"), ("delete", "/api/tags/1/"), ("put", "/api/schema/"),
     ("post", "/api/docs/")],
)  # fmt: skip
def test_a_method_an_operation_does_not_list_answers_a_json_405_with_allow(alice_api, method, path):
    response = getattr(alice_api, method)(path)
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


@pytest.fixture
def no_server_errors():
    """This module's one server error is on purpose (the conftest's guard fails any other)."""
    yield


@override_settings(ROOT_URLCONF="tests.fixtures.failing_urls")
@pytest.mark.parametrize("debug", [False, True])
def test_a_server_error_under_the_api_answers_a_json_500(settings, debug):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/api/fail/")
    assert_json_error(response, 500)
    assert FAILURE_MESSAGE not in response.content.decode()
    page = Client(raise_request_exception=False).get("/fail/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_the_schema_documents_server_errors_and_that_every_answer_is_json(anonymous_api):
    schema = anonymous_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = schema.json()
    assert "Every answer under `/api/` is JSON" in schema["info"]["description"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            error = operation["responses"]["500"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (method, path)


@pytest.mark.parametrize("path", ["/api/items/", "/api/items/999999/", "/api/uploads/"])
def test_a_browser_asking_for_html_gets_json(alice_api, path):
    response = alice_api.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response["Content-Type"].startswith("application/json")
    response.json()
