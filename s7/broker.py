"""Celery's Redis transport, holding one Redis client less per channel.

kombu's Redis channel keeps two connection pools: an "asynchronous" one, which it pings when the
channel opens and which later carries the worker's BRPOP, and a synchronous one for everything
else (publishing, acknowledging). A process that only publishes, as every web process does, so
holds two clients where one would do, and the first stays idle for the process's life. Heroku's
Redis plans count clients (heroku-redis:mini: 20 for every process of every dyno), so here the
synchronous commands take their connections from the same pool: a publisher holds one, and a
consumer two (its BRPOP, and one for the rest).
"""

from kombu.transport import redis


class Channel(redis.Channel):
    @property
    def pool(self):
        return self.async_pool


class Transport(redis.Transport):
    Channel = Channel
