"""Liveness and readiness: no token needed."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from backend import __version__
from backend.api.deps import SessionDep
from backend.schemas.outbox import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health(session: SessionDep, request: Request) -> dict:
    """Liveness: the service answers and its database responds; no token needed."""
    session.execute(text("SELECT 1"))
    scheduler = getattr(request.app.state, "scheduler", None)
    return {"status": "ok", "version": __version__, "database": session.bind.dialect.name,
            "scheduler": scheduler.describe() if scheduler else None}
