"""The FastAPI application: `create_app(settings)` wires settings, database, routers, errors and the SPA.

Migrations run when the app is created, so a new database is ready before the first request. Everything
is under /api (OpenAPI at /api/openapi.json, also at /openapi.json; docs at /docs, Swagger UI served from
the `swagger-ui-py` package's files, so it works offline); the built React UI (``frontend/dist``) is served
at / with index.html for client-side routes when it exists.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from backend import __version__
from backend.api.cache import InvalidateOnWrite, ReadCache, SingleFlight
from backend.api.deps import TokenCache
from backend.api.limits import BodyLimitMiddleware, FiniteJSONMiddleware
from backend.api.routes import include_api
from backend.db import make_engine, make_sessionmaker, migrate
from backend.jobs.whatif import WhatIfRuns
from backend.settings import Settings, get_settings
from data.errors import UserError

JSON_BODY_LIMIT = 32 * 1024 * 1024


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids for generated clients: the handler's name (``list_incidents``)."""
    return route.name


def create_app(settings: Settings | None = None, *, start_scheduler: bool = False) -> FastAPI:
    settings = settings or get_settings()
    settings.check_deployable()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_scheduler and settings.schedule_cron:
            from backend.scheduler import DetectionScheduler

            app.state.scheduler = DetectionScheduler(app.state.sessions, settings)
            app.state.scheduler.start()
        try:
            yield
        finally:
            if getattr(app.state, "scheduler", None) is not None:
                app.state.scheduler.shutdown()
            engine.dispose()

    app = FastAPI(title="CX Workbench", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", generate_unique_id_function=_operation_id,
                  description="Incidents, causes, recommendations and approvals over operational metrics. "
                              "Authenticate with `Authorization: Bearer <token>` (see `cxw token create`).")
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    inline = engine.dialect.name == "sqlite"  # SQLite work runs on the loop, see backend.api.cache.SingleFlight
    app.state.token_cache = TokenCache(settings.token_cache_seconds, inline=inline)
    app.state.read_cache = ReadCache(settings.read_cache_seconds, inline=inline)
    app.state.database_pings = SingleFlight(inline)
    app.state.scheduler = None
    app.state.whatif_runs = WhatIfRuns()
    app.add_middleware(InvalidateOnWrite, cache=app.state.read_cache)
    app.add_middleware(FiniteJSONMiddleware)
    app.add_middleware(BodyLimitMiddleware, default=JSON_BODY_LIMIT, upload=settings.upload_max_bytes,
                       slack=1024 * 1024)  # multipart framing around the files
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])

    @app.exception_handler(UserError)
    async def user_error(_: Request, err: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=getattr(err, "status_code", 422))

    @app.exception_handler(sa.exc.IntegrityError)
    async def integrity_error(_: Request, err: sa.exc.IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with existing data: " + str(err.orig).splitlines()[0]},
                            status_code=409)

    @app.exception_handler(sa.exc.DataError)
    async def data_error(_: Request, err: sa.exc.DataError) -> JSONResponse:
        return JSONResponse({"detail": "the database rejected a value: " + str(err.orig).splitlines()[0]},
                            status_code=422)

    include_api(app)
    _mount_docs(app)
    _mount_spa(app, settings.frontend_dist)
    return app


def freeze_startup_heap() -> None:
    """Exempt everything alive after start-up from garbage collection (call once, in a serving process).

    The app imports pandas, DuckDB, scikit-learn and the pipeline: some 180,000 objects the collector
    tracks. Each full (generation 2) collection walks all of them, 100-300 ms on a busy 2-core machine
    during which the event loop answers nobody, and under load one comes every few seconds: it was the
    largest part of the API's p95/p99. Start-up objects live as long as the process, so after one last
    collection `gc.freeze` moves them to a permanent generation the collector no longer scans; objects
    made by requests are still collected as before.
    """
    gc.collect()
    gc.freeze()


SWAGGER_ASSETS = "/docs/assets"


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from local files (no CDN: the workbench runs on machines without internet)."""
    import swagger_ui

    app.mount(SWAGGER_ASSETS, StaticFiles(directory=Path(swagger_ui.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_alias() -> RedirectResponse:
        return RedirectResponse(app.openapi_url, status_code=308)


def _mount_spa(app: FastAPI, dist: Path) -> None:
    """Serve the built UI: files from ``dist``, index.html for any other non-API path (client routes)."""
    root = dist.resolve()

    @app.get("/{full_path:path}", include_in_schema=False)
    def spa(full_path: str):
        if full_path == "api" or full_path.startswith("api/"):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        index = root / "index.html"
        if not index.is_file():
            return JSONResponse({"detail": "the web UI is not built (frontend/dist); the API is at /api, "
                                           "its documentation at /docs"}, status_code=404)
        candidate = (root / full_path).resolve()
        if full_path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
