"""API tokens: each token's user is remembered for a few seconds, and forgotten when it changes."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from s7 import authentication

pytestmark = pytest.mark.django_db

URL = "/api/uploads/purposes/"


def _client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _token_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return sum("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_a_tokens_user_is_looked_up_once_in_its_few_seconds(alice):
    client = _client(Token.objects.create(user=alice))

    assert _token_queries(client) == 1
    assert _token_queries(client) == 0


def test_a_token_is_looked_up_again_once_its_seconds_are_over(alice, settings, monkeypatch):
    settings.API_TOKEN_CACHE_SECONDS = 5
    client = _client(Token.objects.create(user=alice))
    assert _token_queries(client) == 1

    later = time.monotonic() + 6
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)

    assert _token_queries(client) == 1


def test_with_no_seconds_every_request_looks_the_token_up(alice, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    client = _client(Token.objects.create(user=alice))

    assert _token_queries(client) == 1
    assert _token_queries(client) == 1


def test_a_deleted_token_is_refused_at_once(alice):
    token = Token.objects.create(user=alice)
    client = _client(token)
    assert client.get(URL).status_code == 200

    token.delete()

    assert client.get(URL).status_code == 401


def test_a_deactivated_user_is_refused_at_once(alice):
    client = _client(Token.objects.create(user=alice))
    assert client.get(URL).status_code == 200

    alice.is_active = False
    alice.save()

    answer = client.get(URL)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "User inactive or deleted."


def test_a_token_deleted_elsewhere_is_refused_once_its_seconds_are_over(
    alice, settings, monkeypatch
):
    settings.API_TOKEN_CACHE_SECONDS = 5
    token = Token.objects.create(user=alice)
    client = _client(token)
    assert client.get(URL).status_code == 200
    # Another web process deletes it: no signal reaches this one.
    Token.objects.filter(key=token.key)._raw_delete(Token.objects.db)

    assert client.get(URL).status_code == 200
    later = time.monotonic() + 6
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)
    assert client.get(URL).status_code == 401


def test_each_request_gets_its_own_copy_of_the_user(alice):
    token = Token.objects.create(user=alice)
    auth = authentication.RememberedTokenAuthentication()

    first, _ = auth.authenticate_credentials(token.key)
    first.first_name = "changed by one request"
    second, _ = auth.authenticate_credentials(token.key)

    assert second.pk == alice.pk and second.first_name != "changed by one request"
