"""Operational signals posted by jobs and monitors (deploy markers, alerts, counters)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class Signal(Base):
    __tablename__ = "signal"
    __table_args__ = (sa.Index("ix_signal_ts", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workspace.id", ondelete="CASCADE"),
                                                     nullable=True)
    ts: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    attributes: Mapped[dict] = mapped_column(JSONType, default=dict)
    received_by: Mapped[str] = mapped_column(sa.String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
