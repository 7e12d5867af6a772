"""Registered workspaces and the detection runs over them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, JSONType, utcnow


class Workspace(Base):
    """A workspace file the service knows: registered by path or created from an upload."""

    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    path: Mapped[str] = mapped_column(sa.String(1000), unique=True)  # the workspace YAML, absolute
    source: Mapped[str] = mapped_column(sa.String(20), default="registered")  # registered | upload
    cube_dir: Mapped[str | None] = mapped_column(sa.String(1000), nullable=True)
    grain: Mapped[str] = mapped_column(sa.String(10), default="hour")
    dimensions: Mapped[list] = mapped_column(JSONType, default=list)
    metrics: Mapped[list] = mapped_column(JSONType, default=list)  # [{name, type, good, role, unit}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def cube_file(self) -> Path | None:
        return Path(self.cube_dir) / "cube.parquet" if self.cube_dir else None

    @property
    def has_cube(self) -> bool:
        return self.cube_file is not None and self.cube_file.is_file()


class Run(Base):
    """One run of the detection job over a workspace."""

    __tablename__ = "run"
    __table_args__ = (sa.Index("ix_run_workspace_started", "workspace_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20), default="detect")
    status: Mapped[str] = mapped_column(sa.String(20), default="running")  # running | succeeded | skipped | failed
    actor: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    since: Mapped[datetime | None] = mapped_column(nullable=True)  # watermark of the previous successful run
    watermark: Mapped[datetime | None] = mapped_column(nullable=True)  # latest record timestamp seen
    incidents_new: Mapped[int] = mapped_column(default=0)
    incidents_updated: Mapped[int] = mapped_column(default=0)
    messages_queued: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The process doing the run, and when it last said it was alive (see backend.crud.runs.is_dead).
    host: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    pid: Mapped[int | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
