"""The webhook outbox: enqueue once per (incident or signal proposal, URL, event), claim due messages, record attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.models import OutboxMessage, utcnow

CLAIM_SECONDS = 120  # a claimed message not settled in this time is due again (its sender died)


def enqueue(session: Session, incident_id: int, url: str, fmt: str, body: dict,
            event: str = "incident.new") -> OutboxMessage | None:
    """Queue a message unless one for this (incident, url, event) exists; returns the new row or None."""
    return _enqueue_once(session, "incident_id", incident_id, url, fmt, body, event)


def enqueue_proposal(session: Session, proposal_id: int, url: str, fmt: str, body: dict,
                     event: str = "signal.action") -> OutboxMessage | None:
    """Queue a signal proposal's message unless one for this (proposal, url, event) exists."""
    return _enqueue_once(session, "proposal_id", proposal_id, url, fmt, body, event)


def _enqueue_once(session: Session, owner: str, owner_id: int, url: str, fmt: str, body: dict,
                  event: str) -> OutboxMessage | None:
    column = getattr(OutboxMessage, owner)
    exists = session.scalar(sa.select(OutboxMessage.id).where(column == owner_id, OutboxMessage.url == url,
                                                              OutboxMessage.event == event))
    if exists is not None:
        return None
    msg = OutboxMessage(url=url, format=fmt, body=body, event=event, status="pending", attempts=0,
                        next_attempt_at=utcnow(), **{owner: owner_id})
    session.add(msg)
    session.flush()
    return msg


def due_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Pending messages whose time has come, plus claimed ones whose claim expired."""
    return list(session.scalars(
        sa.select(OutboxMessage.id).where(
            sa.or_(sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                   sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until <= now)))
        .order_by(OutboxMessage.id).limit(limit)))


def claim(session: Session, msg_id: int, now: datetime) -> bool:
    """Atomically take a due message for sending; False when another sender has it (or it is settled)."""
    result = session.execute(
        sa.update(OutboxMessage).where(
            OutboxMessage.id == msg_id,
            sa.or_(sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                   sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until <= now)))
        .values(status="sending", claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def mark_delivered(session: Session, msg: OutboxMessage, now: datetime) -> None:
    msg.status, msg.delivered_at, msg.claimed_until, msg.last_error = "delivered", now, None, None
    msg.attempts += 1


def mark_failed(session: Session, msg: OutboxMessage, now: datetime, error: str, backoff: float,
                backoff_max: float, max_attempts: int) -> None:
    """Count the attempt; wait backoff·2^(attempts-1) before the next, or give up after ``max_attempts``."""
    msg.attempts += 1
    msg.last_error = error[:2000]
    msg.claimed_until = None
    if msg.attempts >= max_attempts:
        msg.status = "dead"
        return
    msg.status = "pending"
    msg.next_attempt_at = now + timedelta(seconds=min(backoff * 2 ** (msg.attempts - 1), backoff_max))


def pending_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status.in_(("pending", "sending"))))


def next_due(session: Session) -> datetime | None:
    return session.scalar(sa.select(sa.func.min(OutboxMessage.next_attempt_at))
                          .where(OutboxMessage.status == "pending"))


def list_messages(session: Session, status: str | None = None, incident_id: int | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[OutboxMessage], int]:
    filters = []
    if status:
        filters.append(OutboxMessage.status == status)
    if incident_id is not None:
        filters.append(OutboxMessage.incident_id == incident_id)
    count = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(*filters))
    rows = session.scalars(sa.select(OutboxMessage).where(*filters).order_by(OutboxMessage.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), count
