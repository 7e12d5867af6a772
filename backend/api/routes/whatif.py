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
    """Run ``recommendations.whatif`` for the incident; 501 with a clear message when it is not available."""
    inc = incidents.get(session, incident_id)
    ws = workspaces.get(session, inc.workspace_id)
    detail = incidents.detail(session, inc)
    detail["feedback"] = []
    return pipeline.whatif(pipeline._plain(detail), body.model_dump(mode="json"), Path(ws.path))
