"""Incidents (deduplicated regressions with their causes) and the feedback people give on them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class Incident(Base):
    """One cause's regressions over a window (`rca.grouping`): ``metric`` and ``slice`` are its most
    affected symptom's, ``symptom_metrics`` every symptom's metric; ``payload`` is the incidents.json entry.

    The dedup key is the confirmed cause (``cause_key``) with an overlapping window; without a cause,
    (workspace, metric, slice, window_start): a re-run that sees the same cause (or the same regression:
    an overlapping window of the same metric and slice) updates this row.
    """

    __tablename__ = "incident"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "metric", "slice", "window_start", name="uq_incident_dedup"),
        # The list is newest window first, with optional filters: each filter has an index ending in the order.
        sa.Index("ix_incident_recent", "window_start", "id"),
        sa.Index("ix_incident_list", "status", "window_start"),
        sa.Index("ix_incident_metric", "metric", "window_start"),
        sa.Index("ix_incident_severity", "severity", "window_start"),
        sa.Index("ix_incident_workspace_metric", "workspace_id", "metric", "slice"),
        sa.Index("ix_incident_workspace_cause", "workspace_id", "cause_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspace.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    metric: Mapped[str] = mapped_column(sa.String(200))
    slice: Mapped[str] = mapped_column(sa.String(1000), default="*")
    direction: Mapped[str] = mapped_column(sa.String(10))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    baseline: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    current: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    relative_change: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    severity: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    owner: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    top_cause: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    top_confidence: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    cause_key: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    symptom_metrics: Mapped[list] = mapped_column(JSONType, default=list)
    scope: Mapped[str | None] = mapped_column(sa.String(1000), nullable=True)  # where the figures are measured
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("run.id", ondelete="SET NULL"), nullable=True)
    seen_count: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)  # last: list queries never read past it

    @property
    def start(self) -> datetime:
        return self.window_start

    @property
    def end(self) -> datetime:
        return self.window_end

    @property
    def dedup_key(self) -> str:
        what = self.cause_key if self.cause_key is not None else f"{self.metric}:{self.slice}"
        return f"{self.workspace_id}:{what}:{self.window_start.isoformat()}"


class Feedback(Base):
    """A person's verdict on an incident: confirmed, false_alarm or expected_change."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(20))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
