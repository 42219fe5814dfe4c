"""The Redis cache of a process: one bounded pool that every thread shares."""

import threading

from django.conf import settings
from django.core.cache import caches

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
