"""Incidents: the ingest contract (incidents.json), list and detail views, updates, feedback, drill-down."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.schemas.common import ORMModel
from data.wire import WIRE_DATACLASS
from metrics.cube_stats import SliceChange
from rca.report import Severity
from recommendations.incidents_io import IncidentEntry
from recommendations.settings import ModelKind

Status = Literal["open", "acknowledged", "resolved", "dismissed"]
FeedbackLabel = Literal["confirmed", "false_alarm", "expected_change"]


class IncidentIn(IncidentEntry):
    """One entry of incidents.json as `cxw analyze` writes it (`recommendations.incidents_io.IncidentEntry`):
    every key typed; an unknown key is refused, naming it."""


class IncidentsIn(BaseModel):
    incidents: list[IncidentIn] = Field(max_length=10_000)


class IncidentPublic(ORMModel):
    id: int
    workspace_id: int
    metric: str
    slice: str
    direction: str
    start: datetime
    end: datetime
    baseline: float | None
    current: float | None
    relative_change: float | None
    severity: Severity
    status: Status
    owner: str | None
    top_cause: str | None
    top_confidence: float | None
    cause_key: str | None = None
    symptom_metrics: list[str] = Field(default_factory=list, description="The metrics of its symptoms, most affected first")
    scope: str | None = Field(default=None, description=(
        "Where baseline and current are measured: the incident's own scope, slices joined by ';' (* = everything)"))
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int


class FeedbackPublic(ORMModel):
    id: int
    incident_id: int
    label: FeedbackLabel
    comment: str
    actor: str
    created_at: datetime


class IncidentDetail(IncidentEntry):
    """An incident: its incidents.json entry (the same JSON, key for key; the entry's ``id`` is
    ``external_id`` here) with its life in the service: id, status, owner, notes, feedback, when seen."""

    model_config = ConfigDict(**WIRE_DATACLASS, from_attributes=True)

    id: int  # type: ignore[assignment]  # the service's id; the entry's is external_id
    workspace_id: int
    external_id: str | None
    severity: Severity
    relative_change: float | None
    status: Status
    owner: str | None
    notes: str = Field(description="People's notes (the analysis' own are analysis_notes)")
    top_cause: str | None
    top_confidence: float | None
    symptom_metrics: list[str] = Field(description="The metrics of its symptoms, most affected first")
    scope: str | None = Field(description=(
        "Where baseline and current are measured: the incident's own scope, slices joined by ';' (* = everything)"))
    run_id: int | None
    dedup_key: str
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    feedback: list[FeedbackPublic]


class IncidentUpdate(BaseModel):
    status: Status | None = None
    owner: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=20_000)


class IngestResult(BaseModel):
    created: int
    updated: int
    data: list[IncidentPublic]


class IncidentSummary(BaseModel):
    count: int
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_metric: dict[str, int]


class FeedbackCreate(BaseModel):
    label: FeedbackLabel
    comment: str = Field(default="", max_length=5000)


class SliceChildren(BaseModel):
    """The drill-down (`metrics.cube_stats.drill_down`) over an incident's windows: its children as the
    engine computes them (the first ``limit``), ``count`` of them in all."""

    incident_id: int
    metric: str
    parent: str
    baseline_window: tuple[datetime, datetime]
    current_window: tuple[datetime, datetime]
    parent_baseline: float | None
    parent_current: float | None
    data: list[SliceChange]
    count: int


class DriverChangeIn(BaseModel):
    feature: str = Field(min_length=1, max_length=200, description="A feature (driver) of the workspace")
    op: Literal["set", "scale", "shift"]
    value: float | str = Field(description="set: the value; scale: the factor; shift: the amount")


class WhatIfRequest(BaseModel):
    """Driver changes to simulate in a scope (default: the incident's top localized slice)."""

    model_config = ConfigDict(allow_inf_nan=False)

    changes: list[DriverChangeIn] = Field(min_length=1, max_length=20)
    scope: str | None = Field(default=None, max_length=1000, description="Slices joined by ';', or * for all")
    window_days: float = Field(default=7.0, gt=0, le=366)
    model: ModelKind | None = None
    bootstrap: int | None = Field(default=None, ge=5, le=200)
