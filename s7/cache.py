"""Django's Redis cache backend, keeping one client per connection pool.

Django's backend makes a new ``redis.Redis`` for every cache call, and redis-py fills a table
of some 170 response callbacks in each: a tenth of a millisecond per call, on every API request
(throttle, progress). A client over a connection pool is safe to share between threads.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _SharedClients(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClients

    def clear(self):
        """Delete this cache's keys only. FLUSHDB would also take what else lives in the same
        Redis: Celery's queues in production, and other test runs' keys beside a test's."""
        client = self._cache.get_client(write=True)
        pattern = self.key_func("*", self.key_prefix, "*")
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
        return True
