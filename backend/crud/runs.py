"""Detection runs: start, finish, the previous successful run's watermark, history."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import audit
from backend.errors import Conflict, NotFound
from backend.models import Run, Workspace, utcnow

STALE_AFTER = timedelta(hours=2)  # a "running" run older than this is taken to have died


def public(run: Run) -> dict:
    return {"id": run.id, "workspace_id": run.workspace_id, "kind": run.kind, "status": run.status,
            "actor": run.actor, "started_at": run.started_at, "finished_at": run.finished_at, "since": run.since,
            "watermark": run.watermark, "incidents_new": run.incidents_new,
            "incidents_updated": run.incidents_updated, "messages_queued": run.messages_queued, "error": run.error,
            "scanned": (run.detail or {}).get("scanned")}


def last_watermark(session: Session, ws: Workspace) -> datetime | None:
    """The data watermark of the last successful (or skipped) run: data after it is new."""
    return session.scalar(sa.select(Run.watermark).where(Run.workspace_id == ws.id,
                                                         Run.status.in_(("succeeded", "skipped")),
                                                         Run.watermark.is_not(None))
                          .order_by(Run.id.desc()).limit(1))


def start(session: Session, ws: Workspace, actor: Actor, kind: str = "detect") -> Run:
    """Open a run; refuses while another run of this workspace is still going."""
    busy = session.scalar(sa.select(Run.id).where(Run.workspace_id == ws.id, Run.status == "running",
                                                  Run.started_at > utcnow() - STALE_AFTER))
    if busy is not None:
        raise Conflict(f"run {busy} of workspace {ws.id} is still running")
    run = Run(workspace_id=ws.id, kind=kind, status="running", actor=actor.name, detail={})
    session.add(run)
    session.flush()
    return run


def finish(session: Session, run: Run, status: str, actor: Actor, **fields) -> Run:
    for key, value in fields.items():
        setattr(run, key, value)
    run.status = status
    run.finished_at = utcnow()
    session.flush()
    audit.record(session, actor, f"run.{status}", "run", run.id, {"status": "running"}, public(run))
    return run


def get(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run


def list_runs(session: Session, workspace_id: int | None = None, limit: int = 50,
              offset: int = 0) -> tuple[list[Run], int]:
    filters = [Run.workspace_id == workspace_id] if workspace_id is not None else []
    count = session.scalar(sa.select(sa.func.count()).select_from(Run).where(*filters))
    rows = session.scalars(sa.select(Run).where(*filters).order_by(Run.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), count
