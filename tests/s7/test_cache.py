"""The Redis cache of a process: one bounded pool that every thread shares, in a Redis it shares
with Celery's broker (and, in tests, with other runs)."""

import threading

from django.conf import settings
from django.core.cache import cache, caches

from bench.connections import PrivateRedis


def test_every_thread_of_a_process_shares_one_bounded_pool(tmp_path):
    server = PrivateRedis(tmp_path)
    cache_settings = {**settings.CACHES["default"], "LOCATION": server.url}
    from s7.cache import RedisCache

    started = threading.Barrier(8)
    errors = []

    def hammer(n):
        # Django makes a cache backend per thread, as it does when serving requests.
        cache = RedisCache(server.url, {**cache_settings, "KEY_PREFIX": "pool"})
        started.wait()
        try:
            for i in range(200):
                cache.set(f"key-{n}-{i}", i, timeout=60)
                assert cache.get(f"key-{n}-{i}") == i
        except Exception as exc:  # reported below: any error fails the test
            errors.append(exc)

    try:
        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        own = server.client.client_id()
        clients = [c for c in server.client.client_list() if int(c["id"]) != own]
    finally:
        server.stop()

    assert errors == []
    assert len(clients) == settings.REDIS_CACHE_MAX_CONNECTIONS == 1


def test_the_sites_cache_is_that_backend():
    assert type(caches["default"]).__module__ == "s7.cache"


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
