"""A per-process micro-cache for hot read endpoints (incident list, summary, detail).

Dashboards poll the same few URLs; serving the serialized JSON for up to ``CXW_READ_CACHE_SECONDS``
(default 1 s, 0 turns it off) keeps the list and detail about as cheap as /api/health. Any write
handled by this process (POST, PUT, PATCH, DELETE) invalidates everything at once; a write from
another process (the job run by cron, a second worker) is visible within the TTL. Roles are checked
before the cache is consulted; the cached bodies do not depend on the caller.
"""

from __future__ import annotations

import threading
import time


class ReadCache:
    def __init__(self, ttl: float, max_entries: int = 2048):
        self.ttl, self.max_entries = ttl, max_entries
        self.version = 0
        self._items: dict[tuple, tuple[float, int, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        if self.ttl <= 0:
            return None
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic() or hit[1] != self.version:
            return None
        return hit[2]

    def put(self, key: tuple, body: bytes, version: int) -> None:
        """Store ``body`` computed while the cache was at ``version`` (dropped if a write came in between)."""
        if self.ttl <= 0 or version != self.version:
            return
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl, version, body)

    def invalidate(self) -> None:
        with self._lock:
            self.version += 1
            self._items.clear()


class InvalidateOnWrite:
    """ASGI middleware: every non-GET request to /api invalidates the read cache (before and after it runs)."""

    def __init__(self, app, cache: ReadCache):
        self.app, self.cache = app, cache

    async def __call__(self, scope, receive, send):
        write = scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if write:
            self.cache.invalidate()
        try:
            await self.app(scope, receive, send)
        finally:
            if write:
                self.cache.invalidate()
