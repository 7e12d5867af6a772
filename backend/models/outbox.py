"""The webhook outbox: one row per (incident or signal proposal, URL, event), delivered with retries and backoff."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class OutboxMessage(Base):
    """A message to POST to a webhook. status: pending → delivered, or dead after too many attempts."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "url", "event", name="uq_outbox_once"),
        sa.UniqueConstraint("proposal_id", "url", "event", name="uq_outbox_proposal_once"),
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=True)
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signal_proposal.id", ondelete="CASCADE"),
                                                    nullable=True)
    event: Mapped[str] = mapped_column(sa.String(50), default="incident.new")
    url: Mapped[str] = mapped_column(sa.String(2000))
    format: Mapped[str] = mapped_column(sa.String(10))  # slack | json
    body: Mapped[dict] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending | sending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
