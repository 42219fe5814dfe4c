"""Django's Redis cache backend, with one connection pool per process and one client per pool.

Django makes a cache backend per thread, and its Redis backend a connection pool per backend: a
gunicorn process of four threads would hold four pools, each opening clients as it pleases,
where Heroku's Redis plans count every client of every process (heroku-redis:mini: 20). Here the
threads of a process share one pool per server (bounded by REDIS_CACHE_MAX_CONNECTIONS in the
settings); redis-py's pool notices a fork and starts afresh in the child.

And Django's backend makes a new ``redis.Redis`` for every cache call, in which redis-py fills a
table of some 170 response callbacks: a tenth of a millisecond per call, on every API request
(throttle, progress). A client over a connection pool is safe to share between threads.
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict = {}
_clients: dict = {}
_lock = threading.Lock()


class _SharedClients(RedisCacheClient):
    def _get_connection_pool(self, write):
        server = self._servers[self._get_connection_pool_index(write)]
        key = (server, self._pool_class, repr(sorted(self._pool_options.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            with _lock:
                client = _clients.setdefault(id(pool), self._client(connection_pool=pool))
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
