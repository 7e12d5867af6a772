"""Reconciliation runs: one `cxw reconcile` investigation started through the API (or imported from an
output folder), its progress while it runs and its `ReconciliationSummary` once it succeeded."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class ReconciliationRun(Base):
    """A reconciliation: running → succeeded | failed. Its output folder lives under the data dir."""

    __tablename__ = "reconciliation_run"
    __table_args__ = (sa.Index("ix_reconciliation_run_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(20))  # upload | server | import
    status: Mapped[str] = mapped_column(sa.String(20), default="running")  # running | succeeded | failed
    actor: Mapped[str] = mapped_column(sa.String(200))
    legacy_name: Mapped[str] = mapped_column(sa.String(1000))  # as the requester knows the file
    migrated_name: Mapped[str] = mapped_column(sa.String(1000))
    options: Mapped[dict] = mapped_column(JSONType, default=dict)  # the request's options, as given
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reconciliation_run.id", ondelete="SET NULL"), nullable=True)
    folder: Mapped[str] = mapped_column(sa.String(1000))  # inputs and output, under the data dir
    step: Mapped[str] = mapped_column(sa.String(200), default="queued")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    verdict: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # agree | differ
    summary: Mapped[dict | None] = mapped_column(JSONType, nullable=True)  # the ReconciliationSummary JSON
    # The process doing the run and when it last said it was alive (backend.crud.runs.is_dead).
    host: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    pid: Mapped[int | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
