"""Actions and approvals: propose from an incident's recommendations; an engineer approves or rejects."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api.deps import Engineer, Id, PageDep, QueryId, SessionDep
from backend.crud import actions, incidents
from backend.schemas.action import ActionCreate, ActionPublic, ActionStatus, Decision
from backend.schemas.common import Page

router = APIRouter(tags=["actions"])


@router.get("/actions", response_model=Page[ActionPublic])
def list_actions(session: SessionDep, _: Engineer, page: PageDep,
                 status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
                 incident_id: QueryId = None) -> dict:
    """Actions, newest first, by status and incident."""
    rows, count = actions.list_actions(session, status=status_, incident_id=incident_id, limit=page.limit,
                                       offset=page.offset)
    return {"data": rows, "count": count}


@router.post("/incidents/{incident_id}/actions", response_model=ActionPublic, status_code=status.HTTP_201_CREATED)
def propose_action(incident_id: Id, body: ActionCreate, session: SessionDep, actor: Engineer):
    """Propose an action from one of the incident's recommendations (by index) or by hand (audited)."""
    action = actions.propose(session, incidents.get(session, incident_id), actor, recommendation=body.recommendation,
                             title=body.title, description=body.description)
    session.commit()
    return action


@router.get("/actions/{action_id}", response_model=ActionPublic)
def read_action(action_id: Id, session: SessionDep, _: Engineer):
    """One action with its decision."""
    return actions.get(session, action_id)


@router.post("/actions/{action_id}/approve", response_model=ActionPublic)
def approve_action(action_id: Id, body: Decision, session: SessionDep, actor: Engineer):
    """Approve a proposed action (engineers only; once; audited)."""
    action = actions.decide(session, actions.get(session, action_id), "approved", body.comment, actor)
    session.commit()
    return action


@router.post("/actions/{action_id}/reject", response_model=ActionPublic)
def reject_action(action_id: Id, body: Decision, session: SessionDep, actor: Engineer):
    """Reject a proposed action (engineers only; once; audited)."""
    action = actions.decide(session, actions.get(session, action_id), "rejected", body.comment, actor)
    session.commit()
    return action
