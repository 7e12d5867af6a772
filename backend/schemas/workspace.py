"""Workspaces, their metric series and change events, and detection runs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.analysis import Scanned
from backend.schemas.common import ORMModel
from metrics.cube_stats import SeriesPoint


class MetricInfo(BaseModel):
    name: str
    type: str
    good: str
    role: str
    unit: str | None = None


class WorkspaceBase(BaseModel):
    name: str | None = Field(default=None, max_length=200, description="Display name (default: the file's name)")
    description: str = Field(default="", max_length=5000)


class WorkspaceCreate(WorkspaceBase):
    """Register an existing workspace file on the server's disk."""

    path: str = Field(min_length=1, max_length=1000, description="Workspace YAML (or its folder) on the server")
    cube_dir: str | None = Field(default=None, max_length=1000,
                                 description="Folder holding a prebuilt cube.parquet (default: look beside the file)")


class WorkspaceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class WorkspacePublic(ORMModel):
    id: int
    name: str
    description: str
    path: str
    source: Literal["registered", "upload"]
    grain: str
    dimensions: list[str]
    metrics: list[MetricInfo]
    has_cube: bool
    created_at: datetime
    updated_at: datetime


class Series(BaseModel):
    workspace_id: int
    metric: str
    slice: str
    unit: str | None
    grain: str
    points: list[SeriesPoint]


class RunPublic(ORMModel):
    id: int
    workspace_id: int
    kind: str
    status: Literal["running", "succeeded", "skipped", "failed"]
    actor: str
    started_at: datetime
    finished_at: datetime | None
    since: datetime | None
    watermark: datetime | None
    incidents_new: int
    incidents_updated: int
    messages_queued: int
    error: str | None
    host: str | None = Field(description="Host (and pid namespace) of the process doing the run")
    pid: int | None
    heartbeat_at: datetime | None = Field(description="When the run's process last said it was alive")
    scanned: Scanned | None = Field(default=None, description="null: the run analysed nothing (skipped, "
                                                                     "failed, or stored a given incidents.json)")


class DetectRequest(BaseModel):
    full: bool = Field(default=False, description="Analyse all data, not only data since the last successful run")
    post: list[str] = Field(default_factory=list, max_length=20,
                            description="Webhook URLs for new incidents (added to the configured ones)")
