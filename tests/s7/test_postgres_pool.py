"""The database pool checks a connection before handing it out only when it has sat idle."""

import time

import psycopg
import pytest
from django.db import connection

from s7.postgres import base

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checks(monkeypatch):
    made = []
    real = base.ConnectionPool.check_connection

    def counted(conn):
        made.append(conn)
        real(conn)

    monkeypatch.setattr(base.ConnectionPool, "check_connection", staticmethod(counted))
    return made


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_tests_use_the_pool():
    assert connection.pool is not None
    assert not connection.settings_dict["CONN_HEALTH_CHECKS"]


def _use_every_pooled_connection() -> None:
    # The pool hands out its longest idle connection first: using as many connections as it may
    # hold leaves each of them returned a moment ago.
    for _ in range(connection.pool.max_size + 1):
        _backend_pid()
        connection.close()


def test_a_connection_returned_a_moment_ago_is_handed_out_unchecked(checks):
    _use_every_pooled_connection()
    checks.clear()

    _backend_pid()

    assert checks == []


def test_a_connection_idle_for_a_while_is_checked_first(checks, monkeypatch):
    _use_every_pooled_connection()
    checks.clear()
    later = time.monotonic() + base.CHECK_AFTER_IDLE_SECONDS + 1
    monkeypatch.setattr(base.time, "monotonic", lambda: later)

    _backend_pid()

    assert len(checks) == 1


def test_idle_connections_the_server_dropped_are_replaced_before_a_query_meets_them(
    monkeypatch,
):
    pooled = set()
    for _ in range(connection.pool.max_size + 1):
        pooled.add(_backend_pid())
        connection.close()
    params = connection.get_connection_params()
    with psycopg.connect(**{**params, "autocommit": True}) as other:
        for pid in pooled:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
    later = time.monotonic() + base.CHECK_AFTER_IDLE_SECONDS + 1
    monkeypatch.setattr(base.time, "monotonic", lambda: later)

    assert _backend_pid() not in pooled
