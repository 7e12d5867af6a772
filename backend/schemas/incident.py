"""Incidents: the ingest contract (incidents.json), list and detail views, updates, feedback, drill-down."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.schemas.common import ORMModel

Status = Literal["open", "acknowledged", "resolved", "dismissed"]
Severity = Literal["low", "medium", "high", "critical"]
FeedbackLabel = Literal["confirmed", "false_alarm", "expected_change"]
RecommendationStatus = Literal["recommended", "no_action", "inconclusive"]


class SliceShare(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    slice: str
    share: float | None = None


class CauseIn(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    hypothesis: str
    change_event: str | None = None
    feature: str | None = None
    confidence: float | None = None
    summary: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class NextStep(BaseModel):
    """A check for an inconclusive incident: what to look at, and which data would decide it."""

    model_config = ConfigDict(extra="allow")

    check: str
    decides: str


class IncidentBase(BaseModel):
    metric: str = Field(min_length=1, max_length=200)
    direction: Literal["up", "down"]
    start: datetime
    end: datetime
    baseline: float | None = None
    current: float | None = None
    slice: str = Field(default="*", max_length=1000, description="Where the regression was detected (* = total)")


class IncidentIn(IncidentBase):
    """One entry of incidents.json as the RCA stage writes it (extra keys are kept)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    id: str | None = Field(default=None, max_length=200)
    severity: Severity | None = None
    slices: list[SliceShare] = Field(default_factory=list)
    causes: list[CauseIn] = Field(default_factory=list)
    recommendations: list[dict[str, Any]] = Field(default_factory=list)
    experiment_plan: dict[str, Any] | None = None
    recommendation_status: RecommendationStatus | None = Field(
        default=None, description="recommended; no_action (a cause, but no catalogue action fits); inconclusive "
                                  "(no trusted cause: next_steps instead of actions); null when not recommended on")
    next_steps: list[NextStep] = Field(default_factory=list, description="Inconclusive incidents: checks to make")


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


class IncidentDetail(IncidentPublic):
    external_id: str | None
    notes: str
    run_id: int | None
    dedup_key: str
    slices: list[SliceShare]
    causes: list[CauseIn]
    recommendations: list[dict[str, Any]]
    experiment_plan: dict[str, Any] | None
    recommendation_status: RecommendationStatus | None = None
    next_steps: list[NextStep]
    feedback: list[FeedbackPublic]
    extra: dict[str, Any] = Field(description="Any other keys of the incidents.json entry, unchanged")


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


class SliceChild(BaseModel):
    slice: str
    baseline: float | None
    current: float | None
    change: float | None
    baseline_n: int
    current_n: int
    contribution: float | None = Field(description="This slice's part of the parent's change, in metric units")
    share: float | None = Field(description="contribution / parent change")


class SliceChildren(BaseModel):
    incident_id: int
    metric: str
    parent: str
    baseline_window: tuple[datetime, datetime]
    current_window: tuple[datetime, datetime]
    parent_baseline: float | None
    parent_current: float | None
    data: list[SliceChild]
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
    model: Literal["lightgbm", "glm"] | None = None
    bootstrap: int | None = Field(default=None, ge=5, le=200)
