"""What-if: the counterfactual effect of driver changes in an incident's scope (`backend.whatif`).

``POST .../whatif`` answers in the request; ``POST .../whatif/runs`` starts the same what-if in the
background (`backend.jobs.whatif`) and ``GET .../whatif/runs/{run_id}`` tells its stage and progress,
then its result: the UI polls it to show what a long what-if is doing.
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request, status
from fastapi import Path as PathParam

from backend.api.deps import Id, Reader, SessionDep, SettingsDep
from backend.crud import incidents, workspaces
from backend.errors import NotFound
from backend.jobs.whatif import WhatIfRun, WhatIfRuns
from backend.progress import Progress, silent
from backend.schemas.incident import WhatIfRequest
from backend.settings import Settings
from backend.whatif import WhatIfStore, whatif_workspace
from recommendations import DriverChange, WhatIfResult
from recommendations.records import parse_scope_text

router = APIRouter(prefix="/incidents", tags=["whatif"])
RunId = Annotated[str, PathParam(pattern="^[0-9a-f]{32}$", description="A what-if run's id")]


def _prepare(incident_id: int, body: WhatIfRequest, session, settings: Settings):
    """The what-if of a request as a function of its progress callback (404: no such incident; 422: a
    malformed scope); the database session is closed before the work starts."""
    inc = incidents.get(session, incident_id)
    ws = workspaces.get(session, inc.workspace_id)
    slices = (inc.payload or {}).get("slices") or []
    scope = body.scope or (slices[0].get("slice") if slices and isinstance(slices[0], dict) else None) or inc.slice
    parse_scope_text(scope)
    path, store = Path(ws.path), WhatIfStore(workspaces.whatif_folder(ws, settings.data_dir))
    session.close()
    changes = [DriverChange(c.feature, c.op, c.value) for c in body.changes]

    def work(progress: Progress = silent) -> WhatIfResult:
        return whatif_workspace(path, changes, scope, window_days=body.window_days, model=body.model,
                                bootstrap=body.bootstrap, store=store, progress=progress)

    return work


@router.post("/{incident_id}/whatif", response_model=WhatIfResult)
def what_if(incident_id: Id, body: WhatIfRequest, session: SessionDep, settings: SettingsDep, _: Reader) -> WhatIfResult:
    """Predicted change of every metric (with 95% intervals) if drivers change in the incident's scope.

    Runs ``recommendations.whatif`` (an outcome model fitted on the workspace's records, or the one the
    analysis kept for this scope); 422 naming an unknown feature or scope.
    """
    return _prepare(incident_id, body, session, settings)()


def _runs(request: Request) -> WhatIfRuns:
    return request.app.state.whatif_runs


@router.post("/{incident_id}/whatif/runs", response_model=WhatIfRun, status_code=status.HTTP_202_ACCEPTED)
def start_what_if(incident_id: Id, body: WhatIfRequest, request: Request, session: SessionDep,
                  settings: SettingsDep, _: Reader) -> WhatIfRun:
    """Start the what-if of ``POST .../whatif`` in the background; poll ``GET .../whatif/runs/{run_id}`` for
    its stage and progress, then its result (or its one-line error). 404: no such incident; 422: a
    malformed scope; 409: too many what-ifs running."""
    work = _prepare(incident_id, body, session, settings)
    return _runs(request).start(incident_id, work)


@router.get("/{incident_id}/whatif/runs/{run_id}", response_model=WhatIfRun)
def read_what_if_run(incident_id: Id, run_id: RunId, request: Request, _: Reader) -> WhatIfRun:
    """A what-if run of this incident: running (stage, progress), succeeded (result) or failed (error)."""
    run = _runs(request).get(run_id, incident_id)
    if run is None:
        raise NotFound(f"what-if run {run_id} of incident {incident_id} not found (runs are kept by the "
                       "server process that started them)")
    return run
