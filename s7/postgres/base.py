"""Postgres through Django's pool, checking a pooled connection only when it has sat idle.

Django's pool checks every connection it hands out (``CONN_HEALTH_CHECKS``): one more round
trip on every request. A connection returned to the pool less than
``CHECK_AFTER_IDLE_SECONDS`` ago was answering then; one idle for longer is checked, and
replaced when it fails, so that after a Postgres restart the pool's old connections are dropped
before a request meets them. A restart inside that second can fail a request cleanly (503, which
the clients retry).
"""

from __future__ import annotations

import time
import weakref

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

CHECK_AFTER_IDLE_SECONDS = 1.0

_returned_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        # Every connection in the pool may have died with the server: try each once.
        for _ in range(self.pool.max_size):
            returned = _returned_at.pop(connection, None)
            if returned is not None and time.monotonic() - returned < CHECK_AFTER_IDLE_SECONDS:
                return connection
            try:
                ConnectionPool.check_connection(connection)
                return connection
            except Exception:
                # The pool discards a connection that is broken when it comes back.
                connection._pool.putconn(connection)
                connection = super().get_new_connection(conn_params)
        return connection

    def _close(self):
        if self.connection is not None and self.pool is not None:
            _returned_at[self.connection] = time.monotonic()
        super()._close()
