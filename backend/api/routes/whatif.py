"""What-if: the counterfactual effect of an action on an incident (the recommendations stage computes it)."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from backend import pipeline
from backend.api.deps import Id, Reader, SessionDep
from backend.crud import incidents, workspaces
from backend.schemas.incident import WhatIfRequest

router = APIRouter(prefix="/incidents", tags=["whatif"])


@router.post("/{incident_id}/whatif", response_model=dict[str, Any],
             responses={501: {"description": "The recommendations stage is not installed in this build"}})
def what_if(incident_id: Id, body: WhatIfRequest, session: SessionDep, _: Reader) -> dict:
    """Predicted change of every metric (with 95% intervals) if drivers change in the incident's scope.

    Runs ``recommendations.whatif`` (an outcome model fitted on the workspace's records); 501 with a clear
    message when that stage is not installed, 422 naming an unknown feature or scope.
    """
    inc = incidents.get(session, incident_id)
    ws = workspaces.get(session, inc.workspace_id)
    slices = (inc.payload or {}).get("slices") or []
    scope = body.scope or (slices[0].get("slice") if slices and isinstance(slices[0], dict) else None) or inc.slice
    session.close()
    return pipeline.whatif(Path(ws.path), [c.model_dump() for c in body.changes], scope,
                           window_days=body.window_days, model=body.model, bootstrap=body.bootstrap)
