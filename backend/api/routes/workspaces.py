"""Workspaces: register a file by path, upload files, read, rename, build the cube, run detection."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status

from backend.api.deps import Engineer, Id, JobRunner, PageDep, Reader, SessionDep, SettingsDep
from backend.crud import runs, workspaces
from backend.jobs.detect import run_detect
from backend.schemas.common import Page
from backend.schemas.workspace import (DetectRequest, RunPublic, WorkspaceCreate, WorkspacePublic,
                                       WorkspaceUpdate)
from backend.uploads import store_upload

router = APIRouter(prefix="/workspaces", tags=["workspaces"])


@router.get("", response_model=Page[WorkspacePublic])
def list_workspaces(session: SessionDep, _: Reader, page: PageDep) -> dict:
    """Registered workspaces, by id."""
    rows, count = workspaces.list_workspaces(session, page.limit, page.offset)
    return {"data": [workspaces.public(w) for w in rows], "count": count}


@router.post("", response_model=WorkspacePublic, status_code=status.HTTP_201_CREATED)
def register_workspace(body: WorkspaceCreate, session: SessionDep, settings: SettingsDep, actor: Engineer) -> dict:
    """Register a workspace file on the server's disk, under ``CXW_DATA_DIR`` or one of ``CXW_WORKSPACE_DIRS``
    (never the server's own database); it is validated against its data first."""
    ws = workspaces.register(session, body.path, actor, name=body.name, description=body.description,
                             cube_dir=body.cube_dir, guard=settings.path_guard())
    session.commit()
    return workspaces.public(ws)


@router.post("/upload", response_model=WorkspacePublic, status_code=status.HTTP_201_CREATED)
def upload_workspace(
    session: SessionDep, settings: SettingsDep, actor: Engineer,
    spec: Annotated[UploadFile, File(description="Workspace YAML; its records.path is replaced by the upload")],
    records: Annotated[UploadFile, File(description="Records: .parquet or .csv")],
    changes: Annotated[UploadFile | None, File(description="Change log CSV (ts, name, kind, scope, description)")] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str, Form(max_length=5000)] = "",
) -> dict:
    """Upload a workspace: checked for size, type and content; nothing is kept if anything is wrong."""
    ws = store_upload(session, settings.data_dir, actor, spec=(spec.filename, spec.file),
                      records=(records.filename, records.file),
                      changes=(changes.filename, changes.file) if changes is not None else None,
                      limit=settings.upload_max_bytes, name=name, description=description,
                      guard=settings.path_guard())
    session.commit()
    return workspaces.public(ws)


@router.get("/{workspace_id}", response_model=WorkspacePublic)
def read_workspace(workspace_id: Id, session: SessionDep, _: Reader) -> dict:
    """One workspace: its metrics, dimensions and whether its cube is built."""
    return workspaces.public(workspaces.get(session, workspace_id))


@router.patch("/{workspace_id}", response_model=WorkspacePublic)
def update_workspace(workspace_id: Id, body: WorkspaceUpdate, session: SessionDep, actor: Engineer) -> dict:
    """Rename or describe a workspace (audited)."""
    ws = workspaces.update(session, workspaces.get(session, workspace_id), body.model_dump(exclude_unset=True), actor)
    session.commit()
    return workspaces.public(ws)


@router.post("/{workspace_id}/cube", response_model=WorkspacePublic)
def build_cube(workspace_id: Id, session: SessionDep, settings: SettingsDep, actor: Engineer) -> dict:
    """(Re)build the workspace's metric cube now."""
    ws = workspaces.build_cube(session, workspaces.get(session, workspace_id), settings.data_dir, actor,
                               guard=settings.path_guard())
    session.commit()
    return workspaces.public(ws)


@router.post("/{workspace_id}/detect", response_model=RunPublic)
def detect(workspace_id: Id, body: DetectRequest, request: Request, session: SessionDep, settings: SettingsDep,
           actor: JobRunner) -> dict:
    """Run the detection job on the workspace's new data now (webhooks: the configured ones plus ``post``)."""
    workspaces.get(session, workspace_id)
    session.close()
    result = run_detect(request.app.state.sessions, settings, workspace_id, webhooks=body.post, full=body.full,
                        actor=actor)
    return result.run


@router.get("/{workspace_id}/runs", response_model=Page[RunPublic])
def list_workspace_runs(workspace_id: Id, session: SessionDep, _: Engineer, page: PageDep) -> dict:
    """Detection runs of this workspace, newest first."""
    workspaces.get(session, workspace_id)
    rows, count = runs.list_runs(session, workspace_id, page.limit, page.offset)
    return {"data": [runs.public(r) for r in rows], "count": count}
