"""Metric signals: numeric values (deploy markers, alerts, counters) posted by jobs and monitors.

They lived at `/api/signals` before the operational signals (tickets, API errors, webhook failures,
migration states) took that path; see documents/api.md.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api.deps import Engineer, JobRunner, PageDep, QueryId, SessionDep
from backend.crud import metric_signals
from backend.schemas.common import Page
from backend.schemas.outbox import SignalPublic, SignalsIn

router = APIRouter(prefix="/metric-signals", tags=["metric-signals"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=dict[str, int])
def post_metric_signals(body: SignalsIn, session: SessionDep, actor: JobRunner) -> dict:
    """Store metric signals (deploy markers, alerts, counters: a name and a numeric value)."""
    stored = metric_signals.ingest(session, body.signals, actor)
    session.commit()
    return {"stored": stored}


@router.get("", response_model=Page[SignalPublic])
def list_metric_signals(session: SessionDep, _: Engineer, page: PageDep,
                 workspace_id: QueryId = None,
                 source: Annotated[str | None, Query(max_length=200)] = None,
                 since: Annotated[datetime | None, Query()] = None) -> dict:
    """Metric signals, newest first."""
    rows, count = metric_signals.list_signals(session, workspace_id=workspace_id, source=source, since=since,
                                       limit=page.limit, offset=page.offset)
    return {"data": rows, "count": count}
