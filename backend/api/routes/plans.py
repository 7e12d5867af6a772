"""Experiment plans: JSON, Markdown and PDF downloads."""

from typing import Any

from fastapi import APIRouter, Response

from backend import plans
from backend.api.deps import Id, Reader, SessionDep
from backend.crud import incidents
from backend.errors import NotFound

router = APIRouter(prefix="/incidents", tags=["plans"])


def _detail_with_plan(session, incident_id: Id) -> dict:
    detail = incidents.detail(session, incidents.get(session, incident_id))
    if not detail["experiment_plan"]:
        raise NotFound(f"incident {incident_id} has no experiment plan")
    detail["causes"] = [c if isinstance(c, dict) else c.model_dump() for c in detail["causes"]]
    return detail


@router.get("/{incident_id}/plan", response_model=dict[str, Any])
def read_plan(incident_id: Id, session: SessionDep, _: Reader) -> dict:
    """The incident's experiment plan as JSON (as the recommendations stage wrote it)."""
    return _detail_with_plan(session, incident_id)["experiment_plan"]


@router.get("/{incident_id}/plan/markdown", response_class=Response,
            responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}})
def download_plan_markdown(incident_id: Id, session: SessionDep, _: Reader) -> Response:
    """The experiment plan as a Markdown download."""
    text = plans.plan_markdown(_detail_with_plan(session, incident_id))
    return Response(text, media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="incident-{incident_id}-plan.md"'})


@router.get("/{incident_id}/plan/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def download_plan_pdf(incident_id: Id, session: SessionDep, _: Reader) -> Response:
    """The experiment plan as a PDF download."""
    pdf = plans.plan_pdf(_detail_with_plan(session, incident_id))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="incident-{incident_id}-plan.pdf"'})
