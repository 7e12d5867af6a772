"""Audit entries (read-only through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.schemas.common import ORMModel


class AuditPublic(ORMModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
