"""Detection runs (history of the job)."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Engineer, Id, PageDep, QueryId, SessionDep
from backend.crud import runs
from backend.schemas.common import Page
from backend.schemas.workspace import RunPublic

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=Page[RunPublic])
def list_runs(session: SessionDep, _: Engineer, page: PageDep,
              workspace_id: QueryId = None) -> dict:
    """Detection runs, newest first (optionally of one workspace)."""
    rows, count = runs.list_runs(session, workspace_id, page.limit, page.offset)
    return {"data": [runs.public(r) for r in rows], "count": count}


@router.get("/{run_id}", response_model=RunPublic)
def read_run(run_id: Id, session: SessionDep, _: Engineer) -> dict:
    """One detection run."""
    return runs.public(runs.get(session, run_id))


@router.post("/{run_id}/clear", response_model=RunPublic)
def clear_run(run_id: Id, session: SessionDep, actor: Engineer,
              force: Annotated[bool, Query(description="Clear even a run that looks alive")] = False) -> dict:
    """Mark a run left ``running`` failed (409 when it is not running, or looks alive and ``force`` is not set)."""
    run = runs.clear(session, run_id, actor, force=force)
    session.commit()
    return runs.public(run)
