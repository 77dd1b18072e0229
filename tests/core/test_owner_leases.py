"""Per-owner slots as Redis leases (core/messaging/owner_leases.py), two instances standing for
two API processes on the real Redis; the API processes themselves:
tests/api/test_owner_caps_across_processes.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from core.messaging.owner_leases import Lease, LocalLeases, RedisLeases
from testkit.services import redis_url

REDIS_DB = 12


@pytest.fixture
def url() -> Iterator[str]:
    found = redis_url(REDIS_DB)
    yield found
    server = redis.Redis.from_url(found)
    for key in server.scan_iter("crs:leases:test-*"):
        server.delete(key)
    server.close()


def wait_until(condition: object, timeout: float) -> None:
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < timeout
        time.sleep(0.02)


def test_the_cap_is_one_count_for_every_process_and_a_release_frees_a_slot(url: str) -> None:
    cap = f"test-{uuid.uuid4().hex[:8]}"
    a, b = RedisLeases(url, cap, 2, ttl_s=30), RedisLeases(url, cap, 2, ttl_s=30)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    try:
        first, second = a.acquire(alice), b.acquire(alice)
        assert isinstance(first, Lease) and isinstance(second, Lease)
        assert a.acquire(alice) == 2 and b.acquire(alice) == 2  # the count, at the cap
        assert isinstance(b.acquire(bob), Lease)  # another owner's own count
        a.release(first)
        a.release(first)  # idempotent
        wait_until(lambda: b.held(alice) == 1, 5)  # released from a background thread
        third = b.acquire(alice)
        assert isinstance(third, Lease) and b.acquire(alice) == 2
        b.release_now(third)  # as a prediction ends: seen by every process on return
        assert a.held(alice) == 1
        assert isinstance(a.acquire(alice), Lease)
    finally:
        a.close()
        b.close()
    assert a.held(alice) == 0  # close gave back what each held


def test_leases_renewed_live_on_and_unrenewed_ones_expire(url: str) -> None:
    cap = f"test-{uuid.uuid4().hex[:8]}"
    alive, dead = RedisLeases(url, cap, 2, ttl_s=0.6), RedisLeases(url, cap, 2, ttl_s=0.6)
    alice = uuid.uuid4()
    try:
        assert isinstance(alive.acquire(alice), Lease)
        assert isinstance(dead.acquire(alice), Lease)
        dead._stop.set()  # as a killed process: no renewal, no release
        dead._wake.set()
        time.sleep(1.5)  # past the lease's life, renewed by `alive` every 0.2 s
        assert alive.held(alice) == 1
        assert isinstance(alive.acquire(alice), Lease)
        assert alive.acquire(alice) == 2
    finally:
        alive.close()


def test_with_redis_away_each_process_counts_its_own() -> None:
    leases = RedisLeases("redis://127.0.0.1:1/0", "test-away", 1, ttl_s=30)
    alice = uuid.uuid4()
    lease = leases.acquire(alice)
    assert isinstance(lease, Lease) and lease.name == ""
    assert leases.acquire(alice) == 1
    leases.release(lease)
    assert isinstance(leases.acquire(alice), Lease)
    local = LocalLeases(1)
    assert isinstance(local.acquire(alice), Lease) and local.acquire(alice) == 1
