"""Metric signals (numeric values) posted by jobs and monitors."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.errors import Invalid
from backend.models import Signal, Workspace, naive_utc
from backend.schemas.outbox import SignalIn


def ingest(session: Session, items: list[SignalIn], actor: Actor) -> int:
    known = {i for i in {s.workspace_id for s in items} if i is not None}
    if known:
        found = set(session.scalars(sa.select(Workspace.id).where(Workspace.id.in_(known))))
        if known - found:
            raise Invalid(f"workspace {min(known - found)} not found")
    session.add_all([Signal(workspace_id=s.workspace_id, ts=naive_utc(s.ts), source=s.source, name=s.name,
                            value=s.value, attributes=s.attributes, received_by=actor.name) for s in items])
    session.flush()
    return len(items)


def list_signals(session: Session, *, workspace_id: int | None = None, source: str | None = None,
                 since: datetime | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Signal], int]:
    filters = []
    if workspace_id is not None:
        filters.append(Signal.workspace_id == workspace_id)
    if source:
        filters.append(Signal.source == source)
    if since is not None:
        filters.append(Signal.ts >= naive_utc(since))
    count = session.scalar(sa.select(sa.func.count()).select_from(Signal).where(*filters))
    rows = session.scalars(sa.select(Signal).where(*filters).order_by(Signal.ts.desc(), Signal.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), count
