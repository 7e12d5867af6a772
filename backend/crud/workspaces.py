"""Workspaces: register a workspace file (validated against its data), read, update, build the cube."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.analysis import build_stored_cube
from backend.crud import audit
from backend.errors import Conflict, Invalid, NotFound
from backend.models import Workspace
from data.changes import ChangeEvent, load_change_events
from data.paths import PathGuard
from data.sources import OpenWorkspace, open_workspace
from data.units import style
from data.workspace import load_workspace
from metrics.cube import CubeInfo


def public(ws: Workspace) -> dict:
    return {"id": ws.id, "name": ws.name, "description": ws.description, "path": ws.path, "source": ws.source,
            "grain": ws.grain, "dimensions": ws.dimensions, "metrics": ws.metrics, "has_cube": ws.has_cube,
            "created_at": ws.created_at, "updated_at": ws.updated_at}


def display_unit(spec, m) -> str | None:
    """The unit a metric's changes are written in (`data.units.style`, as every report writes them): "pp"
    for a rate, "pts" for a composite of rates (on their 0–100 scale), else its declared unit or currency."""
    return style(spec, m).unit or None


def describe(ow: OpenWorkspace) -> dict:
    """The columns of `Workspace` that come from the validated file."""
    spec = ow.workspace
    return {"grain": spec.records.grain, "dimensions": sorted(spec.records.dimensions),
            "metrics": [{"name": m.name, "type": m.type, "good": m.good, "role": m.role,
                         "unit": display_unit(spec, m)} for m in spec.metrics]}


def _find_cube(root: Path, cube_dir: str | None, guard: PathGuard | None = None) -> str | None:
    if cube_dir:
        folder = Path(cube_dir).expanduser()
        folder = folder if folder.is_absolute() else root / folder
        if guard is not None:
            guard.check(folder / "cube.parquet", "cube_dir", repr(cube_dir))
        if not (folder / "cube.parquet").is_file():
            raise Invalid(f"cube_dir {cube_dir!r}: no cube.parquet in {folder}")
        return str(folder.resolve())
    for candidate in (root / "cube", root):
        if (candidate / "cube.parquet").is_file():
            return str(candidate.resolve())
    return None


def register(session: Session, path: str | Path, actor: Actor, *, name: str | None = None, description: str = "",
             cube_dir: str | None = None, source: str = "registered", guard: PathGuard | None = None) -> Workspace:
    """Validate the workspace file against its data and store it; a path registered twice is a conflict.

    ``guard`` (the API server's) limits which files may be opened, checked before each is opened."""
    ow = open_workspace(Path(path).expanduser(), guard=guard)
    file = str(ow.workspace.source_file)
    if session.scalar(sa.select(Workspace.id).where(Workspace.path == file)) is not None:
        raise Conflict(f"workspace {file} is already registered")
    ws = Workspace(name=(name or ow.workspace.name).strip() or ow.workspace.name, description=description,
                   path=file, source=source, cube_dir=_find_cube(ow.workspace.root, cube_dir, guard), **describe(ow))
    ow.close()
    session.add(ws)
    session.flush()
    audit.record(session, actor, "workspace.create", "workspace", ws.id, None, public(ws))
    return ws


def find_or_register(session: Session, path: str | Path, actor: Actor) -> Workspace:
    """The workspace registered at ``path``, registering it first if needed (used by the job)."""
    target = Path(path).expanduser()
    file = (target / "workspace.yaml" if target.is_dir() else target).resolve()
    found = session.scalar(sa.select(Workspace).where(Workspace.path == str(file)))
    return found or register(session, file, actor)


def get(session: Session, workspace_id: int) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return ws


def list_workspaces(session: Session, limit: int = 50, offset: int = 0) -> tuple[list[Workspace], int]:
    count = session.scalar(sa.select(sa.func.count()).select_from(Workspace))
    rows = session.scalars(sa.select(Workspace).order_by(Workspace.id).limit(limit).offset(offset)).all()
    return list(rows), count


def update(session: Session, ws: Workspace, changes: dict, actor: Actor) -> Workspace:
    before = public(ws)
    for key, value in changes.items():
        if value is not None:
            setattr(ws, key, value)
    session.flush()
    after = public(ws)
    if after != before:
        audit.record(session, actor, "workspace.update", "workspace", ws.id, before, after)
    return ws


def change_events(ws: Workspace) -> list[ChangeEvent]:
    spec = load_workspace(ws.path)
    if spec.changes is None:
        return []
    return list(load_change_events(spec.resolve(spec.changes.path), spec.records.dimensions,
                                   where=f"{spec.source_file}: changes.path"))


def build_cube(session: Session, ws: Workspace, data_dir: Path, actor: Actor,
               guard: PathGuard | None = None) -> Workspace:
    """(Re)build the workspace's cube; a registered cube elsewhere is left alone and a managed one is used."""
    target = cube_folder(ws, data_dir)
    ow = open_workspace(ws.path, guard=guard)
    try:
        info = build_stored_cube(ow, target)
    finally:
        ow.close()
    return record_cube(session, ws, target, info, actor)


def cube_folder(ws: Workspace, data_dir: Path) -> Path:
    """Where the workspace's cube is: its registered folder, else a managed one under ``data_dir``."""
    return Path(ws.cube_dir) if ws.cube_dir else (data_dir / "cubes" / str(ws.id)).resolve()


def whatif_folder(ws: Workspace, data_dir: Path) -> Path:
    """Where the workspace's kept what-if models are (`backend.whatif.WhatIfStore`)."""
    return (data_dir / "whatif" / str(ws.id)).resolve()


def record_cube(session: Session, ws: Workspace, target: Path, info: CubeInfo, actor: Actor) -> Workspace:
    """Point the workspace at its (re)built cube in ``target``; audited."""
    before = {"cube_dir": ws.cube_dir}
    ws.cube_dir = str(target)
    session.flush()
    audit.record(session, actor, "workspace.cube", "workspace", ws.id, before,
                 {"cube_dir": ws.cube_dir, "rows": info.rows, "end": info.end})
    return ws
