"""Incidents: list with filters, summary, detail, lifecycle updates, slice drill-down, ingest from a job."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from backend import cubes
from backend.api.deps import Engineer, Id, JobRunner, PageDep, QueryId, Reader, SessionDep, SettingsDep
from backend.crud import incidents, workspaces
from backend.errors import Conflict
from backend.jobs.detect import resolve_webhooks, store_incidents
from backend.schemas.common import Page
from backend.schemas.incident import (IncidentDetail, IncidentPublic, IncidentsIn, IncidentSummary, IncidentUpdate,
                                      IngestResult, Severity, SliceChildren, Status)
from metrics.cube_stats import default_baseline_start, drill_down

router = APIRouter(tags=["incidents"])

PAGE = TypeAdapter(Page[IncidentPublic])
SUMMARY = TypeAdapter(IncidentSummary)
DETAIL = TypeAdapter(IncidentDetail)


async def _cached(request: Request, key: tuple, compute: Callable[[Session], bytes]) -> Response:
    """The JSON body for ``key`` from the read cache, or ``compute(session)`` run once (see `ReadCache.fetch`).

    These handlers take no ``SessionDep``: a cache hit touches neither the database nor the thread pool,
    and a miss opens, uses and closes its session in a single thread-pool hop (on the loop with SQLite).
    """
    sessions = request.app.state.sessions

    def run() -> bytes:
        with sessions() as session:
            return compute(session)

    return Response(await request.app.state.read_cache.fetch(key, run), media_type="application/json")


@router.get("/incidents", response_model=Page[IncidentPublic])
async def list_incidents(
    request: Request, _: Reader, page: PageDep,
    workspace_id: QueryId = None,
    metric: Annotated[str | None, Query(max_length=200)] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    severity: Annotated[Severity | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Only incidents whose window ends at or after this time")] = None,
) -> dict:
    """Incidents, newest window first."""

    def compute(session: Session) -> bytes:
        rows, count = incidents.list_incidents(session, workspace_id=workspace_id, metric=metric, status=status_,
                                               severity=severity, since=since, limit=page.limit, offset=page.offset)
        return PAGE.dump_json(PAGE.validate_python({"data": rows, "count": count}))

    key = ("list", workspace_id, metric, status_, severity, since, page.limit, page.offset)
    return await _cached(request, key, compute)


@router.get("/incidents/summary", response_model=IncidentSummary)
async def incident_summary(request: Request, _: Reader, workspace_id: QueryId = None,
                           since: Annotated[datetime | None, Query()] = None) -> Response:
    """Counts of incidents by status, severity and metric."""

    def compute(session: Session) -> bytes:
        return SUMMARY.dump_json(SUMMARY.validate_python(incidents.summary(session, workspace_id=workspace_id,
                                                                            since=since)))

    return await _cached(request, ("summary", workspace_id, since), compute)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
async def read_incident(request: Request, incident_id: Id, _: Reader) -> Response:
    """An incident with its slices, causes and evidence, recommendations, experiment plan and feedback."""

    def compute(session: Session) -> bytes:
        return DETAIL.dump_json(DETAIL.validate_python(incidents.detail(session, incidents.get(session, incident_id)),
                                                       from_attributes=True))

    return await _cached(request, ("detail", incident_id), compute)


@router.patch("/incidents/{incident_id}", response_model=IncidentDetail)
def update_incident(incident_id: Id, body: IncidentUpdate, session: SessionDep, actor: Engineer) -> dict:
    """Acknowledge, resolve, dismiss or reopen; set owner and notes. Every change is audited."""
    inc = incidents.update(session, incidents.get(session, incident_id), status=body.status, owner=body.owner,
                           notes=body.notes, actor=actor)
    session.commit()
    return incidents.detail(session, inc)


@router.get("/incidents/{incident_id}/slices", response_model=SliceChildren)
def incident_slices(incident_id: Id, session: SessionDep, _: Reader,
                    parent: Annotated[str | None, Query(max_length=1000,
                                                        description="Slice to drill into (default: the incident's); "
                                                                    "written as the series route's slice")] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> SliceChildren:
    """The children of a slice over the incident's window: values, change and contribution to the parent."""
    inc = incidents.get(session, incident_id)
    ws = workspaces.get(session, inc.workspace_id)
    if not ws.has_cube:
        raise Conflict(f"workspace {ws.id} has no metric cube yet; POST /api/workspaces/{ws.id}/cube")
    spec = next((m for m in ws.metrics if m["name"] == inc.metric), {"type": "rate"})
    payload_start = (inc.payload or {}).get("baseline_start")
    baseline_start = (datetime.fromisoformat(payload_start) if isinstance(payload_start, str)
                      else default_baseline_start(inc.window_start, inc.window_end, ws.grain))
    label = cubes.slice_label(parent, ws.dimensions)[0] if parent is not None else inc.slice
    out = drill_down(ws.cube_file, inc.metric, spec["type"], label, ws.dimensions, inc.window_start,
                     inc.window_end, baseline_start)
    return SliceChildren(incident_id=inc.id, metric=inc.metric, baseline_window=(baseline_start, inc.window_start),
                         current_window=(inc.window_start, inc.window_end), parent=out.parent,
                         parent_baseline=out.parent_baseline, parent_current=out.parent_current,
                         data=list(out.data[:limit]), count=len(out.data))


@router.post("/workspaces/{workspace_id}/incidents", response_model=IngestResult,
             status_code=status.HTTP_201_CREATED)
def post_incidents(workspace_id: Id, body: IncidentsIn, session: SessionDep, settings: SettingsDep,
                   actor: JobRunner) -> dict:
    """Store incidents in the incidents.json format (deduplicated); new ones go to the configured webhooks."""
    ws = workspaces.get(session, workspace_id)
    result, _ = store_incidents(session, settings, ws, body.incidents, actor, resolve_webhooks(settings, []))
    session.commit()
    return {"created": len(result.created), "updated": len(result.updated),
            "data": [incidents.public(i) for i in result.created + result.updated]}
