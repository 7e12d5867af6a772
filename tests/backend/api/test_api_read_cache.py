"""The read micro-cache: hits serve the same body, API writes invalidate at once, other writers within the TTL;
concurrent misses share one computation; the token cache forgets revoked tokens."""

import asyncio
import threading

from backend.actors import Actor
from backend.api.cache import InvalidateOnWrite, ReadCache
from backend.api.deps import TokenCache
from backend.crud import incidents as crud_incidents
from backend.models import Incident


def test_writes_through_the_api_are_seen_at_once(client, auth, incident_ids):
    first = client.get("/api/incidents", headers=auth("pm")).json()
    assert first["data"][1]["status"] == "open"
    client.patch(f"/api/incidents/{incident_ids[0]}", json={"status": "acknowledged"}, headers=auth("engineer"))
    assert client.get("/api/incidents", headers=auth("pm")).json()["data"][1]["status"] == "acknowledged"
    assert client.get(f"/api/incidents/{incident_ids[0]}", headers=auth("pm")).json()["status"] == "acknowledged"
    assert client.get("/api/incidents/summary", headers=auth("pm")).json()["by_status"] == {"acknowledged": 1,
                                                                                           "open": 1}


def test_other_writers_are_seen_within_the_ttl(app, client, auth, incident_ids, sessions):
    now = [1000.0]  # the cache's clock, moved by hand: no wall-clock timing in the test
    app.state.read_cache.clock = lambda: now[0]
    app.state.read_cache.ttl = 1.0
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] is None
    with sessions.begin() as s:  # e.g. the cron job in another process
        crud_incidents.update(s, s.get(Incident, incident_ids[1]), status=None, owner="kim", notes=None,
                              actor=Actor("job", "job"))
    now[0] += 0.9
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] is None  # cached
    now[0] += 0.2
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] == "kim"


def test_roles_are_checked_before_the_cache(client, auth, incident_ids):
    assert client.get("/api/incidents", headers=auth("pm")).status_code == 200
    assert client.get("/api/incidents", headers=auth("job")).status_code == 403
    assert client.get("/api/incidents").status_code == 401
    assert client.get("/api/incidents/999", headers=auth("pm")).status_code == 404


def _concurrent_fetches(cache: ReadCache, n: int, write_after: int | None = None):
    """``n`` concurrent fetches of one key whose computation waits until all of them have asked for it;
    with ``write_after``, a write (invalidate) arrives after that many have asked."""
    release = threading.Event()
    calls = []

    def compute() -> bytes:
        calls.append(1)
        assert release.wait(10)
        return b"body-%d" % len(calls)

    async def main():
        tasks = []
        for i in range(n):
            if i == write_after:
                cache.invalidate()
            tasks.append(asyncio.ensure_future(cache.fetch(("list",), compute)))
            await asyncio.sleep(0)  # this fetch has started (and is waiting) before the next one asks
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.run(main()), len(calls)


def test_concurrent_misses_compute_the_body_once():
    results, calls = _concurrent_fetches(ReadCache(ttl=5), 12)
    assert calls == 1
    assert results == [b"body-1"] * 12


def test_a_computation_started_before_a_write_is_not_shared_after_it():
    results, calls = _concurrent_fetches(ReadCache(ttl=5), 6, write_after=3)
    assert calls == 2
    assert results[:3] == [results[0]] * 3 and results[3:] == [results[3]] * 3 and results[0] != results[3]


def test_without_the_cache_every_request_computes():
    _, calls = _concurrent_fetches(ReadCache(ttl=0), 4)
    assert calls == 4


def test_an_error_reaches_every_waiting_request_and_is_not_cached():
    cache = ReadCache(ttl=5)

    def missing() -> bytes:
        raise LookupError("no such incident")

    async def main():
        return await asyncio.gather(*(cache.fetch(("detail", 9), missing) for _ in range(3)), return_exceptions=True)

    assert all(isinstance(r, LookupError) for r in asyncio.run(main()))
    assert cache.get(("detail", 9)) is None
    assert asyncio.run(cache.fetch(("detail", 9), lambda: b"found")) == b"found"


def test_a_token_looked_up_before_its_revocation_is_not_cached():
    cache = TokenCache(ttl=60)
    generation = cache.generation  # a lookup starts...
    cache.clear()  # ...the token is revoked meanwhile...
    cache.put("hash", Actor("kim", "pm"), generation)  # ...and the lookup, finishing, would cache it
    assert cache.get("hash") is None
    cache.put("hash", Actor("kim", "pm"), cache.generation)
    assert cache.get("hash") == Actor("kim", "pm")


def test_inline_computations_run_on_the_event_loop_thread():
    threads = []

    def compute() -> bytes:
        threads.append(threading.get_ident())
        return b"x"

    async def main():
        for cache in (ReadCache(ttl=5, inline=True), ReadCache(ttl=0, inline=True), ReadCache(ttl=5)):
            await cache.fetch(("list",), compute)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads[:2] == [loop_thread, loop_thread] and threads[2] != loop_thread


def test_the_app_runs_sqlite_work_inline_and_postgresql_work_in_threads(app, settings):
    inline = settings.resolved_database_url.startswith("sqlite")
    assert app.state.database_pings.inline == app.state.token_cache.lookups.inline == inline


def test_a_write_invalidates_when_its_response_starts():
    """A read cached while the write ran (before its commit) is gone before the client sees the response."""
    cache = ReadCache(ttl=60)
    seen_by_next_read = []

    async def app(scope, receive, send):
        cache.put(("detail", 1), b"before the commit", cache.version)  # a read that finished mid-write
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen_by_next_read.append(cache.get(("detail", 1)))  # the client's next GET, before teardown ends
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        pass

    asyncio.run(InvalidateOnWrite(app, cache)({"type": "http", "method": "PATCH"}, None, send))
    assert seen_by_next_read == [None]
