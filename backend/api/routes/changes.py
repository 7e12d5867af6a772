"""Change events from the workspace's change log (deployments, policy changes, roll-outs)."""

from fastapi import APIRouter

from backend.api.deps import Id, PageDep, Reader, SessionDep
from backend.crud import workspaces
from backend.schemas.common import Page
from backend.schemas.workspace import ChangeEventPublic

router = APIRouter(prefix="/workspaces", tags=["changes"])


@router.get("/{workspace_id}/changes", response_model=Page[ChangeEventPublic])
def list_changes(workspace_id: Id, session: SessionDep, _: Reader, page: PageDep) -> dict:
    """Change events from the workspace's change log, oldest first."""
    events = workspaces.change_events(workspaces.get(session, workspace_id))
    data = [{"ts": e.ts, "name": e.name, "kind": e.kind, "scope": e.scope_text, "description": e.description}
            for e in events[page.offset:page.offset + page.limit]]
    return {"data": data, "count": len(events)}
