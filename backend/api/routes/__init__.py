"""One router per resource; `api_router` mounts them all under /api."""

from fastapi import APIRouter

from backend.api.routes import (actions, audit, changes, feedback, health, incidents, me, outbox, plans, runs, series,
                                signals, tokens, whatif, workspaces)

api_router = APIRouter(prefix="/api")
for module in (health, me, workspaces, series, changes, runs, incidents, feedback, whatif, plans, actions, audit,
               tokens, outbox, signals):
    api_router.include_router(module.router)
