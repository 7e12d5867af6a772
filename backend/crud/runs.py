"""Detection runs: start, finish, the previous successful run's watermark, history, dead-run recovery.

A run records the process doing it (``host``, ``pid``) and a heartbeat that a thread of that process
renews every `HEARTBEAT_EVERY` while it works (`Heartbeat`). A ``running`` run is dead when its process
is gone from this host (checked by pid) or, wherever it ran, when its heartbeat is older than
`STALE_AFTER`. The next run of the workspace marks a dead run ``failed`` (`reap`) instead of waiting
for it; `clear` does the same on request (``cxw runs clear``, ``POST /api/runs/{id}/clear``).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.actors import Actor
from backend.crud import audit
from backend.errors import Conflict, NotFound
from backend.models import Run, Workspace, utcnow
from data.processes import process_alive, this_host

HEARTBEAT_EVERY = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=5)  # ten missed heartbeats: the run's process is taken to have died
log = logging.getLogger(__name__)


class ProcessRun(Protocol):
    """What `is_dead` reads: a detection run or a reconciliation run."""

    status: str
    host: str | None
    pid: int | None
    started_at: datetime
    heartbeat_at: datetime | None


def is_dead(run: ProcessRun, now: datetime | None = None) -> str | None:
    """Why a ``running`` run is dead (its process is gone, or silent for `STALE_AFTER`), or None while alive."""
    if run.status != "running":
        return None
    if run.host is not None and run.pid is not None and run.host == this_host():
        if run.pid != os.getpid() and not process_alive(run.pid):
            return f"its process {run.pid} on this host is gone"
    last = run.heartbeat_at or run.started_at
    silent = (now or utcnow()) - last
    if silent > STALE_AFTER:
        where = f"process {run.pid} on {run.host or 'unknown host'}"
        return f"no heartbeat for {silent.total_seconds() / 60:.0f} min ({where})"
    return None


def public(run: Run) -> dict:
    return {"id": run.id, "workspace_id": run.workspace_id, "kind": run.kind, "status": run.status,
            "actor": run.actor, "started_at": run.started_at, "finished_at": run.finished_at, "since": run.since,
            "watermark": run.watermark, "incidents_new": run.incidents_new,
            "incidents_updated": run.incidents_updated, "messages_queued": run.messages_queued, "error": run.error,
            "host": run.host, "pid": run.pid, "heartbeat_at": run.heartbeat_at,
            "scanned": (run.detail or {}).get("scanned")}


def last_watermark(session: Session, ws: Workspace) -> datetime | None:
    """The data watermark of the last successful (or skipped) run: data after it is new."""
    return session.scalar(sa.select(Run.watermark).where(Run.workspace_id == ws.id,
                                                         Run.status.in_(("succeeded", "skipped")),
                                                         Run.watermark.is_not(None))
                          .order_by(Run.id.desc()).limit(1))


def reap(session: Session, actor: Actor, workspace_id: int | None = None) -> list[Run]:
    """Mark every dead ``running`` run (of one workspace, or all) ``failed``, saying why; returns them."""
    filters = [Run.status == "running"] + ([Run.workspace_id == workspace_id] if workspace_id is not None else [])
    dead = []
    for run in session.scalars(sa.select(Run).where(*filters).order_by(Run.id)).all():
        reason = is_dead(run)
        if reason is not None:
            finish(session, run, "failed", actor, error=f"the run died: {reason}")
            dead.append(run)
    return dead


def start(session: Session, ws: Workspace, actor: Actor, kind: str = "detect") -> Run:
    """Open a run; dead runs of this workspace are marked failed first; refuses while a live one is going.

    The workspace row is written first: that takes the database's write lock (SQLite) or the row's lock
    (PostgreSQL) until the caller commits, so two runs starting at once see each other.
    """
    session.execute(sa.update(Workspace).where(Workspace.id == ws.id).values(updated_at=Workspace.updated_at))
    reap(session, actor, ws.id)
    busy = session.scalar(sa.select(Run.id).where(Run.workspace_id == ws.id, Run.status == "running"))
    if busy is not None:
        raise Conflict(f"workspace {ws.id} is busy: run {busy} is still running "
                       "(`cxw runs list` shows it; `cxw runs clear` ends a run whose process is gone)")
    now = utcnow()
    run = Run(workspace_id=ws.id, kind=kind, status="running", actor=actor.name, detail={}, started_at=now,
              host=this_host(), pid=os.getpid(), heartbeat_at=now)
    session.add(run)
    session.flush()
    return run


class Heartbeat:
    """Renews a run's heartbeat (a row of ``table``: `Run`, or any table with ``status`` and
    ``heartbeat_at``) from a background thread between `start` and `stop`."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int,
                 every: float = HEARTBEAT_EVERY.total_seconds(), table: type = Run):
        self.sessions, self.run_id, self.every, self.table = sessions, run_id, every, table
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"run-{run_id}-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.sessions.begin() as session:
                    t = self.table
                    session.execute(sa.update(t).where(t.id == self.run_id, t.status == "running")
                                    .values(heartbeat_at=utcnow()))
            except sa.exc.SQLAlchemyError as err:  # a missed beat is not fatal: the next one retries
                log.warning("run %s: heartbeat not recorded: %s", self.run_id, err)


def clear(session: Session, run_id: int, actor: Actor, force: bool = False) -> Run:
    """Mark a ``running`` run failed: at once when it is dead, or when ``force`` (its process may still run)."""
    run = get(session, run_id)
    if run.status != "running":
        raise Conflict(f"run {run_id} is not running (it {run.status})")
    reason = is_dead(run)
    if reason is None and not force:
        raise Conflict(f"run {run_id} looks alive (process {run.pid} on {run.host or 'unknown host'}, heartbeat "
                       f"{run.heartbeat_at or run.started_at:%Y-%m-%d %H:%M:%S} UTC); clear it with force "
                       "only if you know its process is gone")
    return finish(session, run, "failed", actor,
                  error=f"the run died: {reason}" if reason else f"cleared by {actor.name} while marked running")


def finish(session: Session, run: Run, status: str, actor: Actor, **fields) -> Run:
    """Close a running run; a run cleared meanwhile (`clear`) is a conflict, so its results are not stored."""
    if run.status != "running":
        raise Conflict(f"run {run.id} was closed ({run.status}: {run.error}) before it finished; "
                       "its results are not stored")
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
