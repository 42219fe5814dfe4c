"""The Redis cache shares its Redis with Celery's broker (and, in tests, with other runs)."""

from django.core.cache import cache


def test_clearing_the_cache_deletes_its_own_keys_and_nothing_else_in_the_same_redis():
    client = cache._cache.get_client(write=True)
    client.set("not-the-cache:queue", "a task")
    cache.set("throttle", 3)
    cache.set("progress", 4, version=2)
    try:
        cache.clear()

        assert cache.get("throttle") is None
        assert cache.get("progress", version=2) is None
        assert client.get("not-the-cache:queue") == b"a task"
    finally:
        client.delete("not-the-cache:queue")
