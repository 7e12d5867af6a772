"""Append to the audit trail and read it back. There is deliberately no update or delete here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.models import AuditEntry, naive_utc


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: object,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEntry:
    """Add one entry (flushed with the caller's transaction, so it commits or rolls back with the change)."""
    entry = AuditEntry(actor=actor.name, actor_role=actor.role, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), before=_jsonable(before), after=_jsonable(after))
    session.add(entry)
    return entry


def list_entries(session: Session, *, entity_type: str | None = None, entity_id: str | None = None,
                 actor: str | None = None, action: str | None = None, since: datetime | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    filters = []
    if entity_type:
        filters.append(AuditEntry.entity_type == entity_type)
    if entity_id:
        filters.append(AuditEntry.entity_id == entity_id)
    if actor:
        filters.append(AuditEntry.actor == actor)
    if action:
        filters.append(AuditEntry.action == action)
    if since:
        filters.append(AuditEntry.at >= naive_utc(since))
    count = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*filters))
    rows = session.scalars(sa.select(AuditEntry).where(*filters).order_by(AuditEntry.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), count
