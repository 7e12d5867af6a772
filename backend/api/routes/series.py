"""Metric series for any slice, read from the workspace's cube."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend import cubes
from backend.api.deps import Id, Reader, SessionDep
from backend.crud import workspaces
from backend.errors import Conflict, NotFound
from backend.schemas.workspace import Series
from metrics.cube_stats import series

router = APIRouter(prefix="/workspaces", tags=["series"])
SLICE_HELP = "dim=value&dim=value, or * for the total; write %, & and = inside a value as %25, %26, %3D"


@router.get("/{workspace_id}/series", response_model=Series)
def read_series(workspace_id: Id, session: SessionDep, _: Reader,
                metric: Annotated[str, Query(min_length=1, max_length=200)],
                slice: Annotated[str, Query(max_length=1000, description=SLICE_HELP)] = "*",
                ) -> Series:
    """A metric's time series for one slice (`*` = total), from the cube, with 95% intervals."""
    ws = workspaces.get(session, workspace_id)
    spec = next((m for m in ws.metrics if m["name"] == metric), None)
    if spec is None:
        raise NotFound(f"workspace {workspace_id} has no metric {metric!r} "
                       f"(metrics: {', '.join(m['name'] for m in ws.metrics)})")
    label, key = cubes.slice_label(slice, ws.dimensions)
    if not ws.has_cube:
        raise Conflict(f"workspace {workspace_id} has no metric cube yet; POST /api/workspaces/{workspace_id}/cube "
                       "or run the detection job")
    points = series(ws.cube_file, metric, spec["type"], label)
    return Series(workspace_id=ws.id, metric=metric, slice=key, unit=spec.get("unit"), grain=ws.grain, points=points)
