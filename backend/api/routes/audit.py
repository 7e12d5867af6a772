"""The audit trail, read-only: there is no route that edits or deletes it (PUT/PATCH/DELETE are 405)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Engineer, Id, PageDep, SessionDep
from backend.crud import audit
from backend.errors import NotFound
from backend.models import AuditEntry
from backend.schemas.audit import AuditPublic
from backend.schemas.common import Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditPublic])
def list_audit(session: SessionDep, _: Engineer, page: PageDep,
               entity_type: Annotated[str | None, Query(max_length=50)] = None,
               entity_id: Annotated[str | None, Query(max_length=100)] = None,
               actor: Annotated[str | None, Query(max_length=200)] = None,
               action: Annotated[str | None, Query(max_length=100)] = None,
               since: Annotated[datetime | None, Query()] = None) -> dict:
    """The audit trail, newest first, filtered by entity, actor, action, time."""
    rows, count = audit.list_entries(session, entity_type=entity_type, entity_id=entity_id, actor=actor,
                                     action=action, since=since, limit=page.limit, offset=page.offset)
    return {"data": rows, "count": count}


@router.get("/{entry_id}", response_model=AuditPublic)
def read_audit_entry(entry_id: Id, session: SessionDep, _: Engineer):
    """One audit entry."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFound(f"audit entry {entry_id} not found")
    return entry
