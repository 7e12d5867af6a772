"""Feedback on incidents: confirmed, false_alarm, expected_change."""

from fastapi import APIRouter, status

from backend.api.deps import Engineer, Id, Reader, SessionDep
from backend.crud import incidents
from backend.schemas.common import Page
from backend.schemas.incident import FeedbackCreate, FeedbackPublic

router = APIRouter(prefix="/incidents", tags=["feedback"])


@router.get("/{incident_id}/feedback", response_model=Page[FeedbackPublic])
def list_feedback(incident_id: Id, session: SessionDep, _: Reader) -> dict:
    """Feedback given on an incident, oldest first."""
    rows = incidents.list_feedback(session, incidents.get(session, incident_id))
    return {"data": rows, "count": len(rows)}


@router.post("/{incident_id}/feedback", response_model=FeedbackPublic, status_code=status.HTTP_201_CREATED)
def give_feedback(incident_id: Id, body: FeedbackCreate, session: SessionDep, actor: Engineer):
    """Record a verdict; confirmed acknowledges an open incident, the other two dismiss it."""
    fb = incidents.add_feedback(session, incidents.get(session, incident_id), body.label, body.comment, actor)
    session.commit()
    return fb
