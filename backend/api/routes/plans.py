"""Experiment plans: JSON, Markdown and PDF downloads (rendered by the recommendations stage)."""

import tempfile
from pathlib import Path

from fastapi import APIRouter, Response

from backend.api.deps import Id, Reader, SessionDep
from backend.crud import incidents
from backend.errors import NotFound
from recommendations import ExperimentPlan, render_plan_markdown, render_plan_pdf
from recommendations.incidents_io import plan_of

router = APIRouter(prefix="/incidents", tags=["plans"])


def _plan(session, incident_id: Id) -> ExperimentPlan:
    inc = incidents.get(session, incident_id)
    payload = inc.payload or {}
    plan = plan_of({"id": inc.external_id or str(inc.id), "experiment_plan": payload.get("experiment_plan")})
    if plan is None:
        raise NotFound(f"incident {incident_id} has no experiment plan")
    return plan


@router.get("/{incident_id}/plan", response_model=ExperimentPlan)
def read_plan(incident_id: Id, session: SessionDep, _: Reader) -> ExperimentPlan:
    """The incident's experiment plan (as the recommendations stage wrote it)."""
    return _plan(session, incident_id)


@router.get("/{incident_id}/plan/markdown", response_class=Response,
            responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}})
def download_plan_markdown(incident_id: Id, session: SessionDep, _: Reader) -> Response:
    """The experiment plan as a Markdown download."""
    text = render_plan_markdown(_plan(session, incident_id))
    return Response(text, media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="incident-{incident_id}-plan.md"'})


@router.get("/{incident_id}/plan/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def download_plan_pdf(incident_id: Id, session: SessionDep, _: Reader) -> Response:
    """The experiment plan as a PDF download."""
    plan = _plan(session, incident_id)
    with tempfile.TemporaryDirectory() as folder:
        pdf = render_plan_pdf(plan, Path(folder) / "plan.pdf").read_bytes()
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="incident-{incident_id}-plan.pdf"'})
