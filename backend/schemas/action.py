"""Actions and approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import ORMModel

ActionStatus = Literal["proposed", "approved", "rejected"]


class ActionBase(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)


class ActionCreate(BaseModel):
    """Propose an action: from the incident's recommendation number ``recommendation`` or written by hand."""

    recommendation: int | None = Field(default=None, ge=0, description="Index into the incident's recommendations")
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)


class ActionPublic(ORMModel):
    id: int
    incident_id: int
    key: str
    title: str
    description: str
    source: Literal["recommendation", "job", "manual"]
    payload: dict[str, Any]
    status: ActionStatus
    proposed_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str


class Decision(BaseModel):
    comment: str = Field(default="", max_length=5000)
