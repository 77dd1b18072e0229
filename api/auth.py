"""Who is calling: API keys resolved to owners, with a short-lived cache in front of the database.

The store hashes keys with sha256; this cache keeps, per key digest, the owner for a few
seconds, so that a client polling its job costs no key look-up per request. The price: a key
revoked with `python -m api.keys revoke` keeps working for up to KEY_CACHE_TTL_S seconds in an
API process that saw it just before. Unknown keys are never cached.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy.orm import Session, sessionmaker

from core.store.keys import authenticate
from core.store.tables import Owner

KEY_CACHE_TTL_S = 5.0
MAX_CACHED_KEYS = 10_000  # a bound on memory; past it the cache starts afresh


class KeyCache:
    """Resolves API keys to owners; one per app."""

    def __init__(self, ttl_s: float = KEY_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._owners: dict[str, tuple[float, Owner]] = {}

    def cached(self, key: str) -> Owner | None:
        """The key's owner if a look-up in the last ttl_s seconds found it; no I/O."""
        entry = self._owners.get(_digest(key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def look_up(self, sessions: sessionmaker[Session], key: str) -> Owner | None:
        """Ask the database (blocking: call it in a thread) and remember a hit."""
        with sessions() as session:
            owner = authenticate(session=session, key=key)
            # Loaded and then detached by close(): safe to share between requests.
        if owner is not None and self.ttl_s > 0:
            if len(self._owners) >= MAX_CACHED_KEYS:
                self._owners.clear()
            self._owners[_digest(key)] = (time.monotonic() + self.ttl_s, owner)
        return owner


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
