"""Actions: proposed from an incident's recommendations (by a person or the job), decided by an engineer."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import audit
from backend.errors import Conflict, Invalid, NotFound
from backend.models import Action, Incident, utcnow
from recommendations.types import Recommendation


def public(action: Action) -> dict:
    return {"id": action.id, "incident_id": action.incident_id, "key": action.key, "title": action.title,
            "description": action.description, "source": action.source, "payload": action.payload,
            "status": action.status, "proposed_by": action.proposed_by, "created_at": action.created_at,
            "decided_by": action.decided_by, "decided_at": action.decided_at,
            "decision_comment": action.decision_comment}


RECOMMENDATION = TypeAdapter(Recommendation)


def _recommendation_text(rec: dict) -> tuple[str, str, str]:
    """Key, title and description of a stored recommendation (`recommendations.Recommendation`); the key is
    the catalogue action's id, the cause it answers and its scope, so two recommendations of one action for
    different causes stay apart."""
    r = RECOMMENDATION.validate_python(rec)
    parts = [r.action.id, r.change_event or r.feature or r.cause, ";".join(s.key for s in r.scope)]
    key = ":".join(p for p in parts if p)
    return key[:200], r.title[:500], r.action.description


def propose(session: Session, inc: Incident, actor: Actor, *, recommendation: int | None = None,
            title: str | None = None, description: str = "", source: str | None = None) -> Action:
    """Propose one action; the same recommendation proposed twice is a conflict."""
    recs = (inc.payload or {}).get("recommendations") or []
    if recommendation is not None:
        if recommendation >= len(recs):
            raise Invalid(f"incident {inc.id} has {len(recs)} recommendation(s); there is no number {recommendation}")
        rec = recs[recommendation]
        key, rec_title, rec_description = _recommendation_text(rec)
        title, description, payload = title or rec_title, description or rec_description, rec
        source = source or "recommendation"
    else:
        if not title:
            raise Invalid("give a recommendation number or a title")
        key = "manual-" + hashlib.sha256(title.encode()).hexdigest()[:12]
        payload, source = {}, source or "manual"
    if session.scalar(sa.select(Action.id).where(Action.incident_id == inc.id, Action.key == key)) is not None:
        raise Conflict(f"action {key!r} is already proposed for incident {inc.id}")
    action = Action(incident_id=inc.id, key=key, title=title, description=description, source=source,
                    payload=payload, status="proposed", proposed_by=actor.name, decision_comment="")
    session.add(action)
    session.flush()
    audit.record(session, actor, "action.propose", "action", action.id, None, public(action))
    return action


def propose_all(session: Session, inc: Incident, actor: Actor, source: str = "job") -> list[Action]:
    """Propose every recommendation of an incident not yet proposed (what the job does for new incidents)."""
    out = []
    recs = (inc.payload or {}).get("recommendations") or []
    existing = set(session.scalars(sa.select(Action.key).where(Action.incident_id == inc.id)))
    for i, rec in enumerate(recs):
        key, *_ = _recommendation_text(rec)
        if key not in existing:
            out.append(propose(session, inc, actor, recommendation=i, source=source))
            existing.add(key)
    return out


def get(session: Session, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound(f"action {action_id} not found")
    return action


def decide(session: Session, action: Action, decision: str, comment: str, actor: Actor) -> Action:
    """Approve or reject a proposed action (once)."""
    if action.status != "proposed":
        raise Conflict(f"action {action.id} is already {action.status}")
    before = public(action)
    action.status = decision
    action.decided_by, action.decided_at, action.decision_comment = actor.name, utcnow(), comment
    session.flush()
    audit.record(session, actor, f"action.{'approve' if decision == 'approved' else 'reject'}", "action",
                 action.id, before, public(action))
    return action


def list_actions(session: Session, *, status: str | None = None, incident_id: int | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[list[Action], int]:
    filters = []
    if status:
        filters.append(Action.status == status)
    if incident_id is not None:
        filters.append(Action.incident_id == incident_id)
    count = session.scalar(sa.select(sa.func.count()).select_from(Action).where(*filters))
    rows = session.scalars(sa.select(Action).where(*filters).order_by(Action.id.desc()).limit(limit).offset(offset))
    return list(rows), count
