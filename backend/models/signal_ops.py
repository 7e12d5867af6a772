"""Operational signals (tickets, API errors, webhook failures, migration states), their analyses and the
actions proposed from them, each decided by an engineer or by the guardrails."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class SignalRecord(Base):
    """One validated signal record; ``signal_id`` is the sender's id, unique (ingestion is idempotent)."""

    __tablename__ = "signal_record"
    __table_args__ = (
        sa.UniqueConstraint("signal_id", name="uq_signal_record_signal_id"),
        sa.Index("ix_signal_record_type_ts", "type", "ts"),
        sa.Index("ix_signal_record_merchant_ts", "merchant_id", "ts"),
        sa.Index("ix_signal_record_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[str] = mapped_column(sa.String(128))
    type: Mapped[str] = mapped_column(sa.String(30))
    ts: Mapped[datetime]
    merchant_id: Mapped[str] = mapped_column(sa.String(128))
    payload: Mapped[dict] = mapped_column(JSONType)
    received_by: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignalAnalysis(Base):
    """A stored investigation: the `SignalReport` JSON as the API serves it."""

    __tablename__ = "signal_analysis"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(200))
    signals: Mapped[int]
    raised: Mapped[int]
    report: Mapped[dict] = mapped_column(JSONType)


class SignalProposal(Base):
    """An action proposed for a pattern: proposed → approved | rejected; approved → executed."""

    __tablename__ = "signal_proposal"
    __table_args__ = (
        sa.UniqueConstraint("analysis_id", "pattern_id", "action", name="uq_signal_proposal_once"),
        sa.Index("ix_signal_proposal_status", "status"),
        sa.Index("ix_signal_proposal_hypothesis", "hypothesis", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(sa.ForeignKey("signal_analysis.id", ondelete="CASCADE"), index=True)
    pattern_id: Mapped[str] = mapped_column(sa.String(32))
    pattern_label: Mapped[str] = mapped_column(sa.String(500))
    hypothesis: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    tool: Mapped[str] = mapped_column(sa.String(30))
    leaves_system: Mapped[bool]
    confidence: Mapped[float] = mapped_column(sa.Float)
    risk: Mapped[float] = mapped_column(sa.Float)
    severity: Mapped[str] = mapped_column(sa.String(20))
    merchants: Mapped[int]
    needs_approval: Mapped[bool]
    reasons: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(20), default="proposed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    executed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    result: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
