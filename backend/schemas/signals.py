"""Operational signals over HTTP: ingestion batches, stored records, analyses, proposals and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import ORMModel
from backend.signals_analysis import SignalPattern, SignalReport
from data.signals import SignalRecord

BATCH_MAX = 5_000
ProposalStatus = Literal["proposed", "approved", "rejected", "executed"]


class SignalBatch(BaseModel):
    """Tickets, API errors, webhook failures and migration-state updates; each validated by its ``type``."""

    signals: list[SignalRecord] = Field(min_length=1, max_length=BATCH_MAX)


class IngestReport(BaseModel):
    received: int
    stored: int = Field(description="new records")
    duplicates: int = Field(description="records whose id was already stored or repeated in the batch")


class SignalRecordPublic(ORMModel):
    id: int
    signal_id: str
    type: str
    ts: datetime
    merchant_id: str
    payload: dict[str, Any]
    received_by: str
    received_at: datetime


class AnalysisRequest(BaseModel):
    window_days: float = Field(7.0, gt=0, le=90, description="days at the end tested against the rest")
    since: datetime | None = None
    until: datetime | None = None


class SignalAnalysisPublic(ORMModel):
    id: int
    created_at: datetime
    created_by: str
    report: SignalReport


class ProposalPublic(ORMModel):
    id: int
    analysis_id: int
    pattern_id: str
    pattern_label: str
    hypothesis: str
    action: str
    tool: str
    leaves_system: bool
    confidence: float
    risk: float
    severity: str
    merchants: int
    needs_approval: bool
    reasons: list[str]
    status: ProposalStatus
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    executed_at: datetime | None
    result: dict[str, Any] | None


class PatternDetail(BaseModel):
    analysis_id: int
    pattern: SignalPattern
    proposals: list[ProposalPublic]


class ApproveBody(BaseModel):
    reason: str = Field("", max_length=2000)


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the proposal is wrong")


class ExecuteBody(BaseModel):
    dry_run: bool = Field(True, description="render and audit what would run, send nothing")
