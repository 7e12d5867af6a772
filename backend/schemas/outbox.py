"""Webhook outbox messages and signals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import ORMModel


class OutboxPublic(ORMModel):
    id: int
    incident_id: int | None
    proposal_id: int | None = None
    event: str
    url: str
    format: Literal["slack", "json"]
    status: Literal["pending", "sending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class SignalIn(BaseModel):
    ts: datetime
    source: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    value: float | None = Field(default=None, allow_inf_nan=False)
    attributes: dict[str, Any] = Field(default_factory=dict)
    workspace_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class SignalsIn(BaseModel):
    signals: list[SignalIn] = Field(min_length=1, max_length=10_000)


class SignalPublic(ORMModel):
    id: int
    workspace_id: int | None
    ts: datetime
    source: str
    name: str
    value: float | None
    attributes: dict[str, Any]
    received_by: str
    received_at: datetime


class HealthPublic(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    scheduler: str | None = None
