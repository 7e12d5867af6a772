"""Dependencies every route uses: settings, a database session, the caller and its role.

Roles are dependencies, not `if`s in handlers: a route takes ``Engineer``, ``Reader`` (engineer or pm),
``JobRunner`` (engineer or job) or ``CurrentUser`` (any valid token). No token or an unknown/revoked
one is 401; a valid token outside the route's roles is 403.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.api.cache import SingleFlight
from backend.crud import tokens
from backend.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API token from `cxw token create` or POST /api/tokens")


# The cheap dependencies are `async def`: FastAPI runs sync ones in the thread pool, a hop per dependency
# per request. Creating a Session does no I/O (it connects on first use); handlers stay sync `def`.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():  # used: give the connection back off the event loop
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


class TokenCache:
    """Recently authenticated tokens (keyed by hash) for ``ttl`` seconds; revocation clears it here at once.

    Concurrent requests with a token that is not cached share one database lookup (32 clients whose
    entry expires together would otherwise send 32 lookups to the thread pool at once).
    """

    def __init__(self, ttl: float, inline: bool = False):
        self.ttl = ttl
        self.generation = 0  # bumped by clear(): a lookup that started before a revocation is not cached
        self.lookups = SingleFlight(inline)
        self._items: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Actor | None:
        hit = self._items.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: str, actor: Actor, generation: int) -> None:
        if self.ttl <= 0:
            return
        with self._lock:  # checked under the lock: a revocation (clear) cannot slip in before the store
            if generation != self.generation:
                return
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (actor, time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._items.clear()


async def get_current_user(request: Request,
                           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    settings: Settings = request.app.state.settings
    cache: TokenCache = request.app.state.token_cache
    key = tokens.hash_token(settings.secret_key, credentials.credentials)
    actor = cache.get(key)
    if actor is None:
        generation = cache.generation
        actor = await cache.lookups.run((generation, key), partial(_lookup, request.app.state.sessions,
                                                                   settings.secret_key, credentials.credentials))
        if actor is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        cache.put(key, actor, generation)
    return actor


def _lookup(sessions, secret_key: str, secret: str) -> Actor | None:
    with sessions() as session:
        token = tokens.authenticate(session, secret_key, secret)
        return None if token is None else Actor(token.name, token.role, token.id)


CurrentUser = Annotated[Actor, Depends(get_current_user)]


def require_roles(*roles: str):
    """A dependency that lets through only tokens of ``roles``."""

    async def check(actor: CurrentUser) -> Actor:
        if actor.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {actor.role!r} may not do this (needs {' or '.join(roles)})")
        return actor

    check.roles = roles  # read by the role matrix test and documents/api.md
    return check


Engineer = Annotated[Actor, Depends(require_roles("engineer"))]
Reader = Annotated[Actor, Depends(require_roles("engineer", "pm"))]
JobRunner = Annotated[Actor, Depends(require_roles("engineer", "job"))]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(limit: Annotated[int, Query(ge=1, le=500, description="Rows per page")] = 50,
                offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")] = 0) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]


MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
