"""Liveness and readiness: no token needed."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from backend import __version__
from backend.schemas.outbox import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
async def health(request: Request) -> dict:
    """Liveness: the service answers and its database responds; no token needed."""
    engine = request.app.state.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # Probes that arrive while a ping runs share it: one thread-pool hop and one round trip per burst
    # (with SQLite the ping runs on the loop, see backend.api.cache.SingleFlight).
    await request.app.state.database_pings.run("ping", ping)
    scheduler = getattr(request.app.state, "scheduler", None)
    return {"status": "ok", "version": __version__, "database": engine.dialect.name,
            "scheduler": scheduler.describe() if scheduler else None}
