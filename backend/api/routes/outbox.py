"""The webhook outbox: what was sent, what is pending, and delivering due messages now."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from backend.api.deps import Engineer, JobRunner, PageDep, QueryId, SessionDep, SettingsDep
from backend.crud import outbox
from backend.schemas.common import Page
from backend.schemas.outbox import OutboxPublic
from backend.webhooks import DeliveryReport, deliver_due

router = APIRouter(prefix="/outbox", tags=["outbox"])


@router.get("", response_model=Page[OutboxPublic])
def list_outbox(session: SessionDep, _: Engineer, page: PageDep,
                status_: Annotated[Literal["pending", "sending", "delivered", "dead"] | None,
                                   Query(alias="status")] = None,
                incident_id: QueryId = None) -> dict:
    """Webhook messages: pending, sending, delivered or dead, with attempts and last error."""
    rows, count = outbox.list_messages(session, status_, incident_id, page.limit, page.offset)
    return {"data": rows, "count": count}


@router.post("/deliver", response_model=DeliveryReport)
def deliver_now(request: Request, settings: SettingsDep, _: JobRunner) -> DeliveryReport:
    """Send every due message once (no waiting for backoff)."""
    return deliver_due(request.app.state.sessions, settings, budget_seconds=0)
