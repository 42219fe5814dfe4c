"""Heroku's plan limits: the whole deployment (two web dynos, one worker dyno) under load stays
within heroku-postgresql:essential-0's 20 connections and heroku-redis:mini's 20 clients and
25 MB. The stack runs against a Postgres role of its own with CONNECTION LIMIT 20 and a
redis-server of its own with maxclients 20 (never the machine's shared ones), so that going past
either is an error somewhere: a failed request, an upload that never ends, a line in a log."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings

from bench.connections import (
    PLAN_CLIENTS,
    PLAN_CONNECTIONS,
    UPLOADS_AT_ONCE,
    PrivateRedis,
    compare,
)
from tests.fixtures.environment import child_environment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.long(32)
def test_two_web_dynos_and_a_worker_under_load_stay_within_the_plans_connections(tmp_path):
    # Benchmark 16's comparison, whole (the benchmarks' smoke run leaves it to this test): the
    # baseline's deployment runs too, and only S7's must stay within the plans.
    text, result = compare(
        child_environment(),
        connection.settings_dict["NAME"],
        tmp_path,
        users=4,
        rate=40,
        seconds=4,
        file_mib=1,
    )

    assert result["errors"] == [] and result["log_errors"] == []
    assert result["ready"] == UPLOADS_AT_ONCE
    assert 0 < result["connections"] <= PLAN_CONNECTIONS
    assert 0 < result["clients"] <= PLAN_CLIENTS
    assert result["memory"] <= 25 * 1000 * 1000
    deployments = [row.split(" | ")[0] for row in text.splitlines() if " / 20 | " in row]
    assert [name.split(":")[0] for name in deployments] == ["| before", "| S7"]


@pytest.fixture
def full_redis(tmp_path, settings):
    """A Redis that fills up as the plan's does (a small maxmemory here, so that a few thousand
    keys fill it), with the eviction policy the README sets: volatile-lru."""
    server = PrivateRedis(tmp_path, maxmemory="2mb")
    cache = {**settings.CACHES["default"], "LOCATION": server.url, "KEY_PREFIX": "full"}
    with override_settings(CACHES={"default": cache}):
        caches["default"].close()
        yield server
        caches["default"].close()
    server.stop()


def test_open_uploads_and_rate_counters_past_redis_memory_never_cost_the_broker_its_queue(
    full_redis,
):
    from kombu import Connection

    from uploads.core import progress, ratelimit

    with Connection(full_redis.url) as broker:
        queue = broker.SimpleQueue("plan-test")
        queue.put({"task": "before"})
        for n in range(5_000):
            assert progress.write(f"open-{n}", stage="uploading", bytes_uploaded=n, size=10**9)
            ratelimit.hit(f"window:address-{n}", 3600)
        queue.put({"task": "after"})
        delivered = [queue.get(timeout=5).payload["task"] for _ in range(2)]
        queue.close()

    info = full_redis.client.info()
    assert delivered == ["before", "after"]
    assert info["evicted_keys"] > 0
    assert info["used_memory"] <= 2 * 1024 * 1024 * 1.05
    assert not any(
        name.startswith("errorstat_OOM") for name in full_redis.client.info("errorstats")
    )
    # Whatever the cache writes can be evicted: only the broker's keys live without a TTL.
    lasting = [
        key for key in full_redis.client.scan_iter(count=1000) if full_redis.client.ttl(key) == -1
    ]
    assert all(not key.startswith(b"full:") for key in lasting), lasting[:5]
