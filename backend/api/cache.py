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
from collections.abc import Callable, Hashable
from functools import partial
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool

T = TypeVar("T")


class ReadCache:
    def __init__(self, ttl: float, max_entries: int = 2048, inline: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self.version = 0
        self._items: dict[tuple, tuple[float, int, bytes]] = {}
        self._flights = SingleFlight(inline)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        if self.ttl <= 0:
            return None
        hit = self._items.get(key)
        if hit is None or hit[0] < self.clock() or hit[1] != self.version:
            return None
        return hit[2]

    def put(self, key: tuple, body: bytes, version: int) -> None:
        """Store ``body`` computed while the cache was at ``version`` (dropped if a write came in between)."""
        if self.ttl <= 0 or version != self.version:
            return
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = (self.clock() + self.ttl, version, body)

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
            return compute() if self._flights.inline else await run_in_threadpool(compute)
        version = self.version  # a write bumps it: later requests start their own computation
        body = await self._flights.run((version, key), compute)
        self.put(key, body, version)
        return body


class SingleFlight:
    """Concurrent calls with the same key share one run of a function in the thread pool.

    The first caller starts it; callers that arrive while it runs await the same result (or exception).
    Nothing is kept once it has finished: this coalesces a burst, it does not cache.

    ``inline`` runs the function on the event loop instead, for SQLite: its queries are in-process CPU
    work that holds the GIL anyway, and in a thread each of them waits for the busy loop to hand the GIL
    back (up to the 5 ms switch interval, several times per query) while every request for the key
    waits too. Under load that hand-off, not the query, was the tail of a cache miss. PostgreSQL's
    network round trips stay in the thread pool.
    """

    def __init__(self, inline: bool = False) -> None:
        self.inline = inline
        self._running: dict[Hashable, asyncio.Future] = {}

    async def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        if self.inline:
            return fn()  # it finishes before the loop looks at another request: nothing to share
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(run_in_threadpool(fn))
            self._running[key] = running
            running.add_done_callback(partial(self._finished, key))
        return await asyncio.shield(running)  # a client that goes away does not cancel the others' answer

    def _finished(self, key: Hashable, done: asyncio.Future) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # retrieved, so an error nobody waited for is not reported as lost


class InvalidateOnWrite:
    """ASGI middleware: every non-GET request to /api invalidates the read cache before it runs, again when
    its response starts (after the route committed, before the client can see the answer and read again),
    and once more when it ends.

    The invalidation at the response start matters: the session's teardown, and with it the end of the
    request, can come after the client already has its response; a read that started before the commit
    must not be served to the client's next request."""

    def __init__(self, app, cache: ReadCache):
        self.app, self.cache = app, cache

    async def __call__(self, scope, receive, send):
        write = scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if not write:
            await self.app(scope, receive, send)
            return

        async def send_after_invalidating(message):
            if message["type"] == "http.response.start":
                self.cache.invalidate()
            await send(message)

        self.cache.invalidate()
        try:
            await self.app(scope, receive, send_after_invalidating)
        finally:
            self.cache.invalidate()
