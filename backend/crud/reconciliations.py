"""Reconciliation runs: open, progress, close, read, list, recover from a dead process, import a CLI output.

A run records its process (``host``, ``pid``) and a heartbeat like a detection run (`backend.crud.runs`);
a ``running`` run whose process is gone, or silent for `runs.STALE_AFTER`, is marked ``failed`` by the
next read or start (`reap`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import audit
from backend.crud.runs import is_dead
from backend.errors import Conflict, NotFound
from backend.models import ReconciliationRun, utcnow
from backend.reconciliation import read_summary
from data.processes import this_host
from recommendations.reconcile import ReconciliationSummary

OUTPUT = "out"  # the output folder inside a run's folder


def public(run: ReconciliationRun) -> dict:
    summary = run.summary or {}
    findings = summary.get("findings", [])
    return {"id": run.id, "name": run.name, "source": run.source, "status": run.status, "actor": run.actor,
            "legacy_name": run.legacy_name, "migrated_name": run.migrated_name, "options": run.options,
            "previous_id": run.previous_id, "step": run.step, "progress": run.progress, "started_at": run.started_at,
            "finished_at": run.finished_at, "heartbeat_at": run.heartbeat_at, "error": run.error,
            "verdict": run.verdict, "counts": summary.get("counts"),
            "patterns": len(findings) if run.summary else None,
            "systematic": sum(f["pattern"]["classification"] == "systematic" for f in findings) if run.summary else None}


def output_folder(run: ReconciliationRun) -> Path:
    return Path(run.folder) / OUTPUT


def summary_of(run: ReconciliationRun) -> ReconciliationSummary:
    """The findings of a succeeded run; 409 while it runs or after it failed."""
    if run.status != "succeeded" or run.summary is None:
        state = f"is still running ({run.step}, {run.progress:.0%})" if run.status == "running" else \
            f"failed: {run.error}"
        raise Conflict(f"reconciliation {run.id} {state}")
    return ReconciliationSummary.model_validate(run.summary)


def get(session: Session, run_id: int) -> ReconciliationRun:
    run = session.get(ReconciliationRun, run_id)
    if run is None:
        raise NotFound(f"reconciliation {run_id} not found")
    return run


def list_runs(session: Session, limit: int = 50, offset: int = 0) -> tuple[list[ReconciliationRun], int]:
    count = session.scalar(sa.select(sa.func.count()).select_from(ReconciliationRun))
    rows = session.scalars(sa.select(ReconciliationRun).order_by(ReconciliationRun.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), count


def reap(session: Session, actor: Actor) -> list[ReconciliationRun]:
    """Mark every ``running`` run whose process died ``failed``, saying why."""
    dead = []
    for run in session.scalars(sa.select(ReconciliationRun).where(ReconciliationRun.status == "running")).all():
        reason = is_dead(run)
        if reason is not None:
            finish(session, run, "failed", actor, error=f"the run died: {reason}")
            dead.append(run)
    return dead


def start(session: Session, actor: Actor, *, name: str, source: str, legacy_name: str, migrated_name: str,
          options: dict, folder: Path, previous_id: int | None, max_running: int) -> ReconciliationRun:
    """Open a run for this process; dead runs are marked failed first; 409 when ``max_running`` are going."""
    reap(session, actor)
    running = session.scalar(sa.select(sa.func.count()).select_from(ReconciliationRun)
                             .where(ReconciliationRun.status == "running"))
    if running >= max_running:
        raise Conflict(f"{running} reconciliation(s) already running (the limit is {max_running}, "
                       "CXW_RECONCILE_MAX_RUNNING): try again when one has finished")
    now = utcnow()
    run = ReconciliationRun(name=name, source=source, status="running", actor=actor.name, legacy_name=legacy_name,
                            migrated_name=migrated_name, options=options, previous_id=previous_id, folder=str(folder),
                            step="queued", progress=0.0, started_at=now, host=this_host(), pid=os.getpid(),
                            heartbeat_at=now)
    session.add(run)
    session.flush()
    audit.record(session, actor, "reconciliation.start", "reconciliation", run.id, None, public(run))
    return run


def record_progress(session: Session, run_id: int, step: str, fraction: float) -> None:
    session.execute(sa.update(ReconciliationRun).where(ReconciliationRun.id == run_id,
                                                       ReconciliationRun.status == "running")
                    .values(step=step[:200], progress=min(max(fraction, 0.0), 1.0), heartbeat_at=utcnow()))


def finish(session: Session, run: ReconciliationRun, status: str, actor: Actor,
           summary: ReconciliationSummary | None = None, error: str | None = None) -> ReconciliationRun:
    """Close a running run; one closed meanwhile (marked dead) is a conflict, so its results are not stored."""
    if run.status != "running":
        raise Conflict(f"reconciliation {run.id} was closed ({run.status}: {run.error}) before it finished")
    run.status = status
    run.finished_at = utcnow()
    run.error = error
    if summary is not None:
        run.summary = json.loads(summary.model_dump_json())  # byte for byte the JSON of summary.json
        run.verdict = summary.verdict
        run.step, run.progress = "done", 1.0
    session.flush()
    audit.record(session, actor, f"reconciliation.{status}", "reconciliation", run.id, {"status": "running"},
                 {"status": status, "verdict": run.verdict, "error": error})
    return run


def import_output(session: Session, data_dir: Path, source: Path, actor: Actor, name: str | None = None
                  ) -> ReconciliationRun:
    """Record a finished `cxw reconcile` output folder as a succeeded run: its summary is validated, the
    folder copied under the data dir (through a temporary folder renamed into place)."""
    source = Path(source)
    summary = read_summary(source, str(source))
    folder = (data_dir / "reconciliations" / uuid.uuid4().hex).resolve()
    staging = folder.parent / f".{folder.name}.tmp"
    try:
        shutil.copytree(source, staging / OUTPUT)
        staging.rename(folder)
        now = utcnow()
        options = {"key": list(summary.key), "reason_column": summary.reason_column,
                   "customer_column": summary.customer_column, "amount_column": summary.amount_column,
                   "key_normalize": ",".join(summary.key_rules) or "none"}
        run = ReconciliationRun(name=name or source.resolve().name, source="import", status="running",
                                actor=actor.name, legacy_name=summary.legacy.path, migrated_name=summary.migrated.path,
                                options=options, folder=str(folder), step="imported", progress=1.0, started_at=now,
                                host=this_host(), pid=os.getpid(), heartbeat_at=now)
        session.add(run)
        session.flush()
        audit.record(session, actor, "reconciliation.import", "reconciliation", run.id, None, {"source": str(source)})
        return finish(session, run, "succeeded", actor, summary=summary)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
