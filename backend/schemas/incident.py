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


class ChangeInterval(BaseModel):
    """A 95% interval of a change, in the metric's units."""

    low: float | None
    high: float | None


class Symptom(BaseModel):
    """One regression that the incident's cause explains: a metric that moved, with its own numbers."""

    model_config = ConfigDict(allow_inf_nan=False)

    id: str = Field(max_length=200, description="The regression's id")
    metric: str = Field(min_length=1, max_length=200)
    direction: Literal["up", "down"]
    good: Literal["up", "down"] | None = None
    unit: str | None = None
    start: datetime
    end: datetime
    onset: datetime | None = None
    baseline: float | None = None
    current: float | None = None
    change: float | None = None
    change_interval: ChangeInterval | None = None
    relative_change: float | None = None
    measured_in: list[str] = Field(default_factory=list, description=(
        "The slices baseline, current and change are measured in: the incident's own scope (* = everything)"))
    measured_from: datetime | None = Field(default=None, description="Start of the baseline window")
    onset_used: datetime | None = Field(default=None, description="Baseline before it, current from it")
    volume_per_day: float | None = Field(default=None, description="Records in the scope per day after the onset")
    impact_per_day: float | None = Field(default=None, description=(
        "change × the records the metric counts, per day: for a rate, records whose outcome flipped"))
    q_value: float | None = None
    standard_errors: float | None = Field(default=None, description="|change| over its standard error")
    severity: Severity = Field(description="From standard_errors: critical ≥ 20, high ≥ 10, medium ≥ 5, else low")
    detected_in: str = Field(max_length=1000, description="The slice where the detector saw it")


class RejectedCandidate(BaseModel):
    """A candidate cause that was tested and not kept, with the test that ruled it out."""

    model_config = ConfigDict(allow_inf_nan=False)

    candidate: str = Field(description="The change-log event's name or the driver feature")
    kind: Literal["change", "driver"]
    confidence: float
    ruled_out_by: str = Field(description="The first test it failed (timing, scope, did, …), or confidence")
    reason: str = Field(description="That test's decision rule with its numbers")


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
    cause_key: str | None = Field(default=None, max_length=500, description=(
        "The confirmed cause the incident groups on (change:<event> or driver:<feature>): the dedup key "
        "with the window; null without a confirmed cause (then metric and slice are)"))
    symptoms: list[Symptom] = Field(default_factory=list, description=(
        "Every regression the cause explains, the most affected (this incident's metric) first"))
    measured_in: list[str] = Field(default_factory=list, description=(
        "The slices baseline and current are measured in (the incident's own scope); empty: the detector's slice"))
    shares_overlap: bool | None = Field(default=None, description=(
        "Do the localized slices overlap (then their shares of the change do not add up to 100%)?"))
    rejected: list[RejectedCandidate] = Field(default_factory=list, description="Candidates tested and ruled out")
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
    symptoms: list[Symptom] = Field(default_factory=list)
    measured_in: list[str] = Field(default_factory=list)
    shares_overlap: bool | None = None
    rejected: list[RejectedCandidate] = Field(default_factory=list)
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
