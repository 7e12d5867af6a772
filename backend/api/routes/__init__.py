"""One router per resource; `include_api(app)` mounts them all under /api.

Each resource router is included into the app directly, hottest first, not through an /api router of
routers: FastAPI matches included routers lazily, level by level, on every request, and that nesting
cost more than the incident list's own work when it is served from the read cache. Order only decides
which router is tried first; no two routes share a method and path.
"""

from fastapi import FastAPI

from backend.api.routes import (actions, ask, audit, changes, feedback, health, incidents, me, metric_signals, outbox,
                                plans, reconciliations, runs, series, signals, tokens, whatif, workspaces)

API_PREFIX = "/api"
ROUTERS = tuple(module.router for module in (incidents, health, me, workspaces, series, changes, runs, feedback,
                                             whatif, plans, actions, audit, tokens, outbox, metric_signals, signals,
                                             reconciliations, ask))


def include_api(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
