"""Who is calling: API keys resolved to owners, with a short-lived cache in front of the
database, and a limit on failed attempts per client address.

The store hashes keys with sha256 and compares digests in constant time; this cache keeps, per
key digest, the owner for a few seconds, so that a client polling its job costs no key look-up
per request. The price: a key revoked with `python -m ops.keys revoke` keeps working for up to
KEY_CACHE_TTL_S seconds in an API process that saw it just before. A key found unknown is
remembered as unknown for `Settings.auth_negative_cache_s`, so that repeating a wrong key costs
no query either (a key created meanwhile works once that has passed).

Failed attempts (a bearer key that is unknown or revoked) are counted per client address; past
`auth_max_failures` within `auth_failure_window_s`, that address gets 429 with Retry-After until
the oldest failure leaves the window. The counts live in this API process's memory: each process
counts on its own, and a restart forgets them. Behind a reverse proxy, run uvicorn with
`--proxy-headers` (and `--forwarded-allow-ips`) so that the client address is the client's.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque

from sqlalchemy.orm import Session, sessionmaker

from core.store.keys import authenticate
from core.store.tables import Owner

KEY_CACHE_TTL_S = 5.0
MAX_CACHED_KEYS = 10_000  # a bound on memory; past it the cache starts afresh
MAX_TRACKED_ADDRESSES = 10_000  # likewise for the failure counts


class KeyCache:
    """Resolves API keys to owners; one per app."""

    def __init__(self, ttl_s: float = KEY_CACHE_TTL_S, negative_ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self._owners: dict[str, tuple[float, Owner]] = {}
        self._unknown: dict[str, float] = {}  # digest -> until when it counts as unknown

    def cached(self, key: str) -> Owner | None:
        """The key's owner if a look-up in the last ttl_s seconds found it; no I/O."""
        entry = self._owners.get(_digest(key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def known_unknown(self, key: str) -> bool:
        """Whether a look-up in the last negative_ttl_s seconds found no such key; no I/O."""
        return self._unknown.get(_digest(key), 0.0) >= time.monotonic()

    def look_up(self, sessions: sessionmaker[Session], key: str) -> Owner | None:
        """Ask the database (blocking: call it in a thread) and remember the answer."""
        with sessions() as session:
            owner = authenticate(session=session, key=key)
            # Loaded and then detached by close(): safe to share between requests.
        digest = _digest(key)
        if owner is not None and self.ttl_s > 0:
            if len(self._owners) >= MAX_CACHED_KEYS:
                self._owners.clear()
            self._owners[digest] = (time.monotonic() + self.ttl_s, owner)
        elif owner is None and self.negative_ttl_s > 0:
            if len(self._unknown) >= MAX_CACHED_KEYS:
                self._unknown.clear()
            self._unknown[digest] = time.monotonic() + self.negative_ttl_s
        return owner


class FailureLimit:
    """Failed authentications per client address in a sliding window; one per app, used from
    the event loop only."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after_s(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None if it may now."""
        failures = self._recent(address)
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[0] + self.window_s - time.monotonic()))

    def record(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            if len(self._failures) >= MAX_TRACKED_ADDRESSES:
                self._forget_idle()
            failures = self._failures[address] = deque()
        failures.append(time.monotonic())
        while len(failures) > self.max_failures:
            failures.popleft()  # only the newest max_failures matter

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        start = time.monotonic() - self.window_s
        while failures and failures[0] < start:
            failures.popleft()
        return failures

    def _forget_idle(self) -> None:
        start = time.monotonic() - self.window_s
        idle = [
            address for address, times in self._failures.items() if not times or times[-1] < start
        ]
        for address in idle:
            del self._failures[address]
        if len(self._failures) >= MAX_TRACKED_ADDRESSES:
            self._failures.clear()  # a flood of addresses: start afresh rather than grow


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
