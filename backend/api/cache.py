"""A per-process micro-cache for hot read endpoints (incident list, summary, detail).

Dashboards poll the same few URLs; serving the serialized JSON for up to ``CXW_READ_CACHE_SECONDS``
(default 1 s, 0 turns it off) keeps the list and detail about as cheap as /api/health. Any write
handled by this process (POST, PUT, PATCH, DELETE) invalidates everything at once; a write from
another process (the job run by cron, a second worker) is visible within the TTL. Roles are checked
before the cache is consulted; the cached bodies do not depend on the caller.

Misses are single-flight: when an entry expires under load, the requests for it that arrive while it is
being recomputed wait for that one computation instead of each running the same queries in the thread
pool (32 pollers of one URL would otherwise recompute it up to 32 times a second, a burst of CPU that
stalls every other request). A computation started before a write is never shared with requests that
arrive after it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool


class ReadCache:
    def __init__(self, ttl: float, max_entries: int = 2048):
        self.ttl, self.max_entries = ttl, max_entries
        self.version = 0
        self.computed = 0  # bodies computed (cache misses that ran ``compute``), for tests and diagnostics
        self._items: dict[tuple, tuple[float, int, bytes]] = {}
        self._inflight: dict[tuple, tuple[int, asyncio.Future]] = {}
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

    async def fetch(self, key: tuple, compute: Callable[[], bytes]) -> bytes:
        """The body for ``key``: cached, or the result of a computation already running, or ``compute()``
        run in the thread pool (and cached). Exceptions from ``compute`` reach every request waiting on it."""
        body = self.get(key)
        if body is not None:
            return body
        if self.ttl <= 0:
            self.computed += 1
            return await run_in_threadpool(compute)
        running = self._inflight.get(key)
        if running is not None and running[0] == self.version:
            return await asyncio.shield(running[1])
        version = self.version
        task = asyncio.ensure_future(self._compute(key, compute, version))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved even if nobody waits
        self._inflight[key] = (version, task)
        return await asyncio.shield(task)  # a client that goes away does not cancel the others' answer

    async def _compute(self, key: tuple, compute: Callable[[], bytes], version: int) -> bytes:
        try:
            self.computed += 1
            body = await run_in_threadpool(compute)
            self.put(key, body, version)
            return body
        finally:
            if self._inflight.get(key, (None, None))[1] is asyncio.current_task():
                del self._inflight[key]


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
