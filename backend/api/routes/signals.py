"""Signals posted by jobs and monitors."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api.deps import Engineer, JobRunner, PageDep, QueryId, SessionDep
from backend.crud import signals
from backend.schemas.common import Page
from backend.schemas.outbox import SignalPublic, SignalsIn

router = APIRouter(prefix="/signals", tags=["signals"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=dict[str, int])
def post_signals(body: SignalsIn, session: SessionDep, actor: JobRunner) -> dict:
    """Store operational signals (deploy markers, alerts, counters)."""
    stored = signals.ingest(session, body.signals, actor)
    session.commit()
    return {"stored": stored}


@router.get("", response_model=Page[SignalPublic])
def list_signals(session: SessionDep, _: Engineer, page: PageDep,
                 workspace_id: QueryId = None,
                 source: Annotated[str | None, Query(max_length=200)] = None,
                 since: Annotated[datetime | None, Query()] = None) -> dict:
    """Signals, newest first."""
    rows, count = signals.list_signals(session, workspace_id=workspace_id, source=source, since=since,
                                       limit=page.limit, offset=page.offset)
    return {"data": rows, "count": count}
