"""Liveness and readiness: no token needed."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from backend import __version__
from backend.schemas.outbox import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health(request: Request) -> dict:
    """Liveness: the service answers and its database responds; no token needed."""
    engine = request.app.state.engine
    with engine.connect() as connection:  # one thread-pool hop: this handler is sync, so FastAPI runs it there
        connection.execute(text("SELECT 1"))
    scheduler = getattr(request.app.state, "scheduler", None)
    return {"status": "ok", "version": __version__, "database": engine.dialect.name,
            "scheduler": scheduler.describe() if scheduler else None}
