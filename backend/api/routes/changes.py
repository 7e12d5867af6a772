"""Change events from the workspace's change log (deployments, policy changes, roll-outs)."""

from fastapi import APIRouter

from backend.api.deps import Id, PageDep, Reader, SessionDep
from backend.crud import workspaces
from backend.schemas.common import Page
from data.changes import ChangeEvent

router = APIRouter(prefix="/workspaces", tags=["changes"])


@router.get("/{workspace_id}/changes", response_model=Page[ChangeEvent])
def list_changes(workspace_id: Id, session: SessionDep, _: Reader, page: PageDep) -> Page[ChangeEvent]:
    """Change events from the workspace's change log, oldest first."""
    events = workspaces.change_events(workspaces.get(session, workspace_id))
    return Page(data=events[page.offset:page.offset + page.limit], count=len(events))
