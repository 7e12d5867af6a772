"""What-if: the counterfactual effect of driver changes in an incident's scope (`backend.analysis`)."""

from pathlib import Path

from fastapi import APIRouter

from backend.whatif import whatif_workspace
from backend.api.deps import Id, Reader, SessionDep
from backend.crud import incidents, workspaces
from backend.schemas.incident import WhatIfRequest
from recommendations import DriverChange, WhatIfResult

router = APIRouter(prefix="/incidents", tags=["whatif"])


@router.post("/{incident_id}/whatif", response_model=WhatIfResult)
def what_if(incident_id: Id, body: WhatIfRequest, session: SessionDep, _: Reader) -> WhatIfResult:
    """Predicted change of every metric (with 95% intervals) if drivers change in the incident's scope.

    Runs ``recommendations.whatif`` (an outcome model fitted on the workspace's records); 422 naming an
    unknown feature or scope.
    """
    inc = incidents.get(session, incident_id)
    ws = workspaces.get(session, inc.workspace_id)
    slices = (inc.payload or {}).get("slices") or []
    scope = body.scope or (slices[0].get("slice") if slices and isinstance(slices[0], dict) else None) or inc.slice
    session.close()
    changes = [DriverChange(c.feature, c.op, c.value) for c in body.changes]
    return whatif_workspace(Path(ws.path), changes, scope, window_days=body.window_days, model=body.model,
                            bootstrap=body.bootstrap)
