"""API tokens and the caller's identity."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas.common import ORMModel

Role = Literal["engineer", "pm", "job"]


class TokenCreate(BaseModel):
    role: Role
    name: str = Field(min_length=1, max_length=200)


class TokenPublic(ORMModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown once, never stored")


class Me(BaseModel):
    name: str
    role: Role
    token_id: int | None
    permissions: list[str]
