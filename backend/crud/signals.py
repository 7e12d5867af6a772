"""Operational signals in the database: idempotent ingestion, the analysis, proposals, decisions, execution.

Execution goes through the tools of `backend.signal_tools`: local tools (internal ticket, documentation
draft) store their result on the proposal; tools that leave the system are queued in the webhook outbox
once per (proposal, URL), so a tool that is down loses nothing and nothing runs twice. A dry run (the
default) renders and audits what would run and sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import audit, outbox
from backend.errors import Conflict, Invalid, NotFound
from backend.models import SignalAnalysis, SignalProposal, SignalRecord, naive_utc, utcnow
from backend.progress import Progress, silent
from backend.settings import Settings
from backend.signal_tools import render
from backend.signals_analysis import SignalReport, SignalSettings, investigate_signals
from data.signals import RECORD_ADAPTER, SignalTable, record_json, table_from_records
from rca.signal_hypotheses import Feedback

GUARDRAILS = "guardrails"
CHUNK = 1_000


def ingest(session: Session, records: Sequence[BaseModel], actor: Actor) -> tuple[int, int]:
    """Store records whose signal id is new; returns (stored, duplicates).

    Ids already stored are looked up first (one indexed query per 1,000), the new rows go in one
    ``executemany``; the insert still skips an id another transaction stored in between (ON CONFLICT DO
    NOTHING), so concurrent senders never store a record twice (both may then count it as stored)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignalRecord) \
        .on_conflict_do_nothing(index_elements=["signal_id"])
    unique: dict[str, BaseModel] = {}
    for record in records:
        unique.setdefault(record.id, record)
    ids = list(unique)
    now = utcnow()
    stored = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        known = set(session.scalars(sa.select(SignalRecord.signal_id).where(SignalRecord.signal_id.in_(chunk))))
        rows = [{"signal_id": r.id, "type": r.type, "ts": naive_utc(r.ts), "merchant_id": r.merchant_id,
                 "payload": record_json(r), "received_by": actor.name, "received_at": now}
                for r in (unique[i] for i in chunk if i not in known)]
        if rows:
            session.execute(insert, rows)
            stored += len(rows)
    session.flush()
    return stored, len(records) - stored


def list_records(session: Session, *, type_: str | None = None, merchant_id: str | None = None,
                 since: datetime | None = None, limit: int = 50, offset: int = 0) -> tuple[list[SignalRecord], int]:
    filters = []
    if type_:
        filters.append(SignalRecord.type == type_)
    if merchant_id:
        filters.append(SignalRecord.merchant_id == merchant_id)
    if since is not None:
        filters.append(SignalRecord.ts >= naive_utc(since))
    count = session.scalar(sa.select(sa.func.count()).select_from(SignalRecord).where(*filters))
    rows = session.scalars(sa.select(SignalRecord).where(*filters)
                           .order_by(SignalRecord.ts.desc(), SignalRecord.id.desc()).limit(limit).offset(offset))
    return list(rows), count


def load_table(session: Session, since: datetime | None = None, until: datetime | None = None) -> SignalTable:
    """Stored signals in [since, until) as a `SignalTable` (every migration state, whatever its time)."""
    filters = []
    if since is not None:
        filters.append(sa.or_(SignalRecord.ts >= naive_utc(since), SignalRecord.type == "migration_state"))
    if until is not None:
        filters.append(sa.or_(SignalRecord.ts < naive_utc(until), SignalRecord.type == "migration_state"))
    payloads = session.scalars(sa.select(SignalRecord.payload).where(*filters).order_by(SignalRecord.id))
    return table_from_records(RECORD_ADAPTER.validate_python(p) for p in payloads)


def feedback(session: Session) -> dict[str, Feedback]:
    """Approvals and rejections by people (not the guardrails) of each hypothesis' proposals."""
    rows = session.execute(
        sa.select(SignalProposal.hypothesis, SignalProposal.status, sa.func.count())
        .where(SignalProposal.decided_by.is_not(None), SignalProposal.decided_by != GUARDRAILS,
               SignalProposal.status.in_(("approved", "executed", "rejected")))
        .group_by(SignalProposal.hypothesis, SignalProposal.status))
    counts: dict[str, list[int]] = {}
    for hypothesis, status, n in rows:
        counts.setdefault(hypothesis, [0, 0])[status == "rejected"] += n
    return {h: Feedback(approved=a, rejected=r) for h, (a, r) in counts.items()}


def _state(p: SignalProposal) -> dict:
    return {"status": p.status, "decided_by": p.decided_by, "reason": p.reason, "result": p.result}


def signal_settings(settings: Settings, window_days: float) -> SignalSettings:
    """How the service investigates: the window asked for, the workspace's hypothesis library and guardrail
    policies from the settings (``CXW_SIGNAL_HYPOTHESES``, ``CXW_SIGNAL_GUARDRAILS``)."""
    return SignalSettings(window_days=window_days, hypotheses=settings.signal_hypotheses,
                          guardrails=settings.signal_guardrails)


def run_analysis(session: Session, actor: Actor, settings: SignalSettings, since: datetime | None = None,
                 until: datetime | None = None, tool_urls: dict[str, str] | None = None,
                 progress: Progress = silent) -> SignalAnalysis:
    """Investigate the stored signals (`investigate_signals`, with the people's feedback), store the report
    and its proposals (audited); proposals the guardrails let run alone are approved and dry-run at once.
    Each stage is reported to ``progress``."""
    progress("loading the stored signals")
    table = load_table(session, since, until)
    progress("investigating patterns, spikes and causes", rows=len(table.events) + len(table.migrations))
    report = investigate_signals(table, replace(settings, feedback=feedback(session)))
    progress("storing the report and its proposals", rows=len(table.events) + len(table.migrations))
    analysis = SignalAnalysis(created_by=actor.name, signals=report.signals, raised=report.raised,
                              report=report.model_dump(mode="json"))
    session.add(analysis)
    session.flush()
    audit.record(session, actor, "signal_analysis.run", "signal_analysis", analysis.id,
                 after={"signals": report.signals, "patterns": len(report.patterns), "raised": report.raised})
    for pattern in report.patterns:
        for prop in pattern.proposals:
            row = SignalProposal(analysis_id=analysis.id, pattern_id=pattern.id, pattern_label=pattern.label[:500],
                                 hypothesis=prop.hypothesis, action=prop.action, tool=prop.tool,
                                 leaves_system=prop.leaves_system, confidence=prop.confidence, risk=prop.risk,
                                 severity=prop.severity, merchants=prop.merchants,
                                 needs_approval=prop.needs_approval, reasons=list(prop.reasons), status="proposed",
                                 reason="")
            session.add(row)
            session.flush()
            audit.record(session, actor, "signal_proposal.propose", "signal_proposal", row.id,
                         after={"pattern": pattern.id, "hypothesis": prop.hypothesis, "action": prop.action,
                                "confidence": prop.confidence, "risk": prop.risk,
                                "needs_approval": prop.needs_approval, "reasons": list(prop.reasons)})
            if not prop.needs_approval:
                guard = Actor(GUARDRAILS, "system")
                _decide(session, row, "approved", "the guardrails let it run alone", guard)
                execute(session, row, True, guard, tool_urls or {})
    return analysis


def latest_analysis(session: Session) -> SignalAnalysis:
    row = session.scalar(sa.select(SignalAnalysis).order_by(SignalAnalysis.id.desc()).limit(1))
    if row is None:
        raise NotFound("no signal analysis yet: POST /api/signals/analysis first")
    return row


def pattern_of(analysis: SignalAnalysis, pattern_id: str):
    report = SignalReport.model_validate(analysis.report)
    for pattern in report.patterns:
        if pattern.id == pattern_id:
            return pattern
    raise NotFound(f"pattern {pattern_id} is not in analysis {analysis.id}")


def get_proposal(session: Session, proposal_id: int) -> SignalProposal:
    row = session.get(SignalProposal, proposal_id)
    if row is None:
        raise NotFound(f"signal proposal {proposal_id} not found")
    return row


def list_proposals(session: Session, *, status: str | None = None, analysis_id: int | None = None,
                   pattern_id: str | None = None, limit: int = 50, offset: int = 0
                   ) -> tuple[list[SignalProposal], int]:
    filters = []
    if status:
        filters.append(SignalProposal.status == status)
    if analysis_id is not None:
        filters.append(SignalProposal.analysis_id == analysis_id)
    if pattern_id:
        filters.append(SignalProposal.pattern_id == pattern_id)
    count = session.scalar(sa.select(sa.func.count()).select_from(SignalProposal).where(*filters))
    rows = session.scalars(sa.select(SignalProposal).where(*filters).order_by(SignalProposal.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), count


def _decide(session: Session, p: SignalProposal, status: str, reason: str, actor: Actor) -> SignalProposal:
    if p.status != "proposed":
        raise Conflict(f"signal proposal {p.id} is already {p.status}")
    before = _state(p)
    p.status, p.reason, p.decided_by, p.decided_at = status, reason, actor.name, utcnow()
    verb = {"approved": "approve", "rejected": "reject"}[status]
    audit.record(session, actor, f"signal_proposal.{verb}", "signal_proposal", p.id, before=before, after=_state(p))
    session.flush()
    return p


def approve(session: Session, p: SignalProposal, reason: str, actor: Actor) -> SignalProposal:
    return _decide(session, p, "approved", reason, actor)


def reject(session: Session, p: SignalProposal, reason: str, actor: Actor) -> SignalProposal:
    if not reason.strip():
        raise Invalid("a rejection needs a reason")
    return _decide(session, p, "rejected", reason, actor)


def execute(session: Session, p: SignalProposal, dry_run: bool, actor: Actor,
            tool_urls: dict[str, str]) -> SignalProposal:
    """Run an approved proposal's tool: a dry run renders it; a real run stores a local tool's result or
    queues the outbound message in the outbox (once per proposal and URL). Audited either way."""
    if p.status not in ("approved", "executed"):
        raise Conflict(f"signal proposal {p.id} is {p.status}: only an approved proposal runs")
    message = render(p, tool_urls, dry_run)
    before = _state(p)
    if dry_run:
        p.result = {"dry_run": True, **message.preview()}
        audit.record(session, actor, "signal_proposal.dry_run", "signal_proposal", p.id, before=before,
                     after=_state(p))
        session.flush()
        return p
    if message.url is None:
        p.result = {"dry_run": False, **message.preview()}
    else:
        queued = outbox.enqueue_proposal(session, p.id, message.url, message.format, message.body)
        p.result = {"dry_run": False, "outbox_id": queued.id if queued else None, **message.preview(),
                    "queued": queued is not None}
    p.status, p.executed_at = "executed", p.executed_at or utcnow()
    audit.record(session, actor, "signal_proposal.execute", "signal_proposal", p.id, before=before, after=_state(p))
    session.flush()
    return p
