"""Actions proposed from an incident's recommendations, and the human decision on each."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class Action(Base):
    """A proposed change (status proposed → approved | rejected), decided by an engineer."""

    __tablename__ = "action"
    __table_args__ = (sa.UniqueConstraint("incident_id", "key", name="uq_action_incident_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(200))  # recommendation id, or a generated one
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(20))  # recommendation | job | manual
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="proposed")
    proposed_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_comment: Mapped[str] = mapped_column(sa.Text, default="")
