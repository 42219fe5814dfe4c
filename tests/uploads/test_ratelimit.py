"""The fixed-window counter that the API's throttle and the site's limits share."""

import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from uploads.core import ratelimit


@pytest.fixture
def key():
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
def file_cache(tmp_path):
    cache = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}
    with override_settings(CACHES={"default": {**cache, "LOCATION": str(tmp_path)}}):
        yield
    caches["default"].close()


@pytest.fixture
def cache_down():
    # A port nobody listens on: every call fails at once.
    down = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}
    with override_settings(CACHES={"default": down}):
        yield
    caches["default"].close()


def test_it_counts_each_hit_in_one_window_and_says_when_it_closes(key):
    counts = [ratelimit.hit(key, 60).count for _ in range(3)]
    window = ratelimit.peek(key, 60)
    assert counts == [1, 2, 3]
    assert window.count == 3
    assert 58 < window.seconds_left <= 60


def test_a_peek_counts_nothing_and_a_key_never_counted_is_at_zero(key):
    assert ratelimit.peek(key, 60).count == 0
    assert ratelimit.peek(key, 60).count == 0
    assert ratelimit.hit(key, 60).count == 1


def test_a_cleared_window_starts_again_from_one(key):
    ratelimit.hit(key, 60)
    ratelimit.hit(key, 60)
    ratelimit.clear(key, 60)
    assert ratelimit.hit(key, 60).count == 1


def test_a_cache_other_than_redis_counts_in_windows_of_the_clock(key, file_cache):
    counts = [ratelimit.hit(key, 60).count for _ in range(3)]
    window = ratelimit.peek(key, 60)
    assert counts == [1, 2, 3]
    assert window.count == 3
    assert 0 < window.seconds_left <= 60
    ratelimit.clear(key, 60)
    assert ratelimit.peek(key, 60).count == 0


def test_a_cache_that_is_down_counts_nothing_and_answers_none(key, cache_down):
    assert ratelimit.hit(key, 60) is None
    assert ratelimit.peek(key, 60) is None
    ratelimit.clear(key, 60)  # no error either
