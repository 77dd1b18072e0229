"""Per-owner caps that hold across API processes (issue 17): an owner's predictions at once, their
open event streams.

With a Redis broker, each held slot is a lease in a sorted set per owner and cap,
`crs:leases:<cap>:<owner>`, scored by its expiry on Redis's clock; taking one drops the
expired, counts the rest against the cap and adds the new lease in one script, so that any
number of API processes share one count. The holding process renews its leases every third of
`OWNER_LEASE_TTL_S`; a process that dies stops renewing, and its slots come back when their
leases expire. Releases go out from the same background thread, so that releasing never waits
on Redis. With Redis away, a process counts its own slots (the cap then holds per process, as
it does on the embedded set-up, which has one API process and no Redis). Torch-free.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from core.messaging.event_channel import client, redis_url
from core.settings import Settings

log = logging.getLogger(__name__)

# KEYS[1] the owner's set; ARGV: cap, ttl in ms, lease. The count (>= 0) when at the cap; -1 taken.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return held end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return -1
"""
# KEYS: the sets; ARGV[1] the ttl in ms, ARGV[1 + i] the lease in KEYS[i].
_RENEW = """
local now = redis.call('TIME')
local until_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, until_ms, ARGV[i + 1])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]))
end
return #KEYS
"""


@dataclass(eq=False)
class Lease:
    owner_id: uuid.UUID
    name: str  # the lease's member in Redis; "" for one counted in this process only
    released: bool = field(default=False)


class LocalLeases:
    """Slots counted in this process."""

    remote = False

    def __init__(self, per_owner: int) -> None:
        self.per_owner = per_owner
        self._held: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()

    def acquire(self, owner_id: uuid.UUID) -> Lease | int:
        """A lease, or the number of slots the owner holds when that is the cap."""
        with self._lock:
            held = self._held.get(owner_id, 0)
            if held >= self.per_owner:
                return held
            self._held[owner_id] = held + 1
        return Lease(owner_id, "")

    def release(self, lease: Lease) -> None:
        """Idempotent, never blocks."""
        with self._lock:
            if lease.released:
                return
            lease.released = True
            left = self._held[lease.owner_id] - 1
            if left:
                self._held[lease.owner_id] = left
            else:
                del self._held[lease.owner_id]

    def release_now(self, lease: Lease) -> None:
        """`release`, seen by every process when it returns (may block: call from a thread)."""
        self.release(lease)

    def held(self, owner_id: uuid.UUID) -> int:
        with self._lock:
            return self._held.get(owner_id, 0)

    def close(self) -> None:
        pass


class RedisLeases(LocalLeases):
    """Slots counted in Redis, across API processes; in this process while Redis is away."""

    remote = True

    def __init__(self, url: str, cap: str, per_owner: int, ttl_s: float) -> None:
        super().__init__(per_owner)
        self.url = url
        self.cap = cap
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self._process = uuid.uuid4().hex  # leases of one process, told apart from others'
        self._numbers = itertools.count()
        self._live: set[tuple[str, str]] = set()  # (key, lease) held here, to renew
        self._released: list[tuple[str, str]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def key(self, owner_id: uuid.UUID) -> str:
        return f"crs:leases:{self.cap}:{owner_id}"

    def acquire(self, owner_id: uuid.UUID) -> Lease | int:
        """Blocks on Redis for a round trip: call it from a thread."""
        name = f"{self._process}:{next(self._numbers)}"
        key = self.key(owner_id)
        try:
            held = int(client(self.url).eval(_ACQUIRE, 1, key, self.per_owner, self.ttl_ms, name))
        except RedisError as error:
            log.warning("owner leases: Redis unreachable (%s); counting in this process", error)
            return super().acquire(owner_id)
        if held >= 0:
            return held
        with self._lock:
            self._live.add((key, name))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"leases-{self.cap}", daemon=True
                )
                self._thread.start()
        return Lease(owner_id, name)

    def _give_up(self, lease: Lease, *, later: bool) -> tuple[str, str] | None:
        """Stop renewing the lease; its Redis entry, once (None: released already, or held in
        this process while Redis was away). `later`: the background thread removes it."""
        if not lease.name:
            super().release(lease)
            return None
        with self._lock:
            if lease.released:
                return None
            lease.released = True
            entry = (self.key(lease.owner_id), lease.name)
            self._live.discard(entry)
            if later:
                self._released.append(entry)
        return entry

    def release(self, lease: Lease) -> None:
        if self._give_up(lease, later=True) is not None:
            self._wake.set()

    def release_now(self, lease: Lease) -> None:
        entry = self._give_up(lease, later=False)
        if entry is None:
            return
        try:
            client(self.url).zrem(*entry)
        except RedisError:  # the background thread tries again; expiry is the backstop
            with self._lock:
                self._released.append(entry)
            self._wake.set()

    def held(self, owner_id: uuid.UUID) -> int:
        """The owner's leases in Redis, unexpired, from every process."""
        key = self.key(owner_id)
        try:
            return int(client(self.url).zcount(key, "(" + str(self._redis_ms()), "+inf"))
        except RedisError:
            return super().held(owner_id)

    def _redis_ms(self) -> int:
        seconds, micros = client(self.url).time()
        return int(seconds) * 1000 + int(micros) // 1000

    def _run(self) -> None:
        """Releases at once, renewals every third of the lease's life."""
        every_s = self.ttl_ms / 3000
        renew_at = time.monotonic() + every_s
        while not self._stop.is_set():
            self._wake.wait(max(0.0, renew_at - time.monotonic()))
            self._wake.clear()
            with self._lock:
                released, self._released = self._released, []
                live = sorted(self._live) if time.monotonic() >= renew_at else []
            if live:
                renew_at = time.monotonic() + every_s
            try:
                if released:
                    pipe = client(self.url).pipeline(transaction=False)
                    for key, name in released:
                        pipe.zrem(key, name)
                    pipe.execute()
                if live:
                    keys = [key for key, _ in live]
                    client(self.url).eval(
                        _RENEW, len(keys), *keys, self.ttl_ms, *[n for _, n in live]
                    )
            except RedisError as error:  # tried again at the next turn; expiry is the backstop
                log.warning("owner leases: Redis unreachable (%s)", error)
                with self._lock:
                    self._released.extend(released)

    def close(self) -> None:
        """Give back every lease of this process (a clean shutdown) and stop renewing."""
        with self._lock:
            self._released.extend(self._live)
            self._live.clear()
            thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=5)
        if self._released:
            try:
                pipe = client(self.url).pipeline(transaction=False)
                for key, name in self._released:
                    pipe.zrem(key, name)
                pipe.execute()
            except RedisError:
                pass  # they expire


def owner_leases(settings: Settings, cap: str, per_owner: int) -> LocalLeases:
    """The cap `cap` of `per_owner` slots: across API processes with a Redis broker."""
    url = redis_url(settings)
    if url is None:
        return LocalLeases(per_owner)
    return RedisLeases(url, cap, per_owner, settings.owner_lease_ttl_s)
