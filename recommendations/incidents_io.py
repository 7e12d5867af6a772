"""incidents.json: the typed form of one incident (`IncidentEntry`: RCA's report with what the
recommendations stage adds) and reading it back: find one by id, its experiment plan, or the incident.

The file is what `cxw analyze` writes: ``{"workspace": ..., "incidents": [...]}`` (or a bare list). Each
entry is `IncidentEntry` in its JSON form — the same JSON as the API's incident detail — and reads back
with the same model (`entry_of`), so the engine's values (`Regression`, `Cause`, `ExperimentPlan`) come
back as they were written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from data.errors import UserError
from data.wire import WIRE
from rca.report import IncidentReport
from rca.types import Incident
from recommendations.types import ExperimentPlan, NextStep, Recommendation, RecommendationSet

RecommendationStatus = Literal["recommended", "no_action", "inconclusive"]


class IncidentRecommendations(BaseModel):
    """What the recommendations stage adds to an incident's report (`RecommendationSet`)."""

    model_config = WIRE

    recommendations: tuple[Recommendation, ...] = Field(default=(), description="Ranked actions, best first")
    experiment_plan: ExperimentPlan | None = Field(default=None, description="How to test the top action")
    recommendation_status: RecommendationStatus | None = Field(
        default=None, description="recommended; no_action (a cause, but no catalogue action fits); inconclusive "
                                  "(no trusted cause: next_steps instead of actions); null when not recommended on")
    next_steps: tuple[NextStep, ...] = Field(default=(), description="Inconclusive incidents: checks to make")
    pm_summary: str | None = Field(default=None, description="The plain-language summary for a product manager")
    pm_table: tuple[tuple[str, ...], ...] = Field(default=(), description=(
        "Its table: a header row, then metric / now / expected change / likely range / per day / effect"))
    recommendation_notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, recset: RecommendationSet) -> "IncidentRecommendations":
        return cls(recommendations=recset.recommendations, experiment_plan=recset.experiment_plan,
                   recommendation_status=recset.status, next_steps=recset.next_steps, pm_summary=recset.pm_summary,
                   pm_table=recset.pm_table, recommendation_notes=recset.notes)


class IncidentEntry(IncidentRecommendations, IncidentReport):
    """One incident of incidents.json: what RCA found (`IncidentReport`) and what to do about it."""


def read_incidents(path: str | Path) -> tuple[dict, list[dict]]:
    """The document and its incident entries; a folder means its ``incidents.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / "incidents.json"
    if not path.is_file():
        raise UserError(f"{path}: no such file (give incidents.json or the folder that holds it)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid JSON: {err}") from None
    entries = doc if isinstance(doc, list) else doc.get("incidents") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{path}: expected a list of incidents or an object with 'incidents'")
    meta = doc if isinstance(doc, dict) else {}
    return {**meta, "_path": str(path)}, [e for e in entries if isinstance(e, dict)]


def entry_id(entry: dict) -> str | None:
    return str(entry["id"]) if entry.get("id") else None


def find_entry(doc: dict, entries: list[dict], incident: str) -> dict:
    for e in entries:
        if entry_id(e) == incident:
            return e
    known = [i for i in (entry_id(e) for e in entries) if i]
    listing = ", ".join(known[:10]) + (" …" if len(known) > 10 else "") if known else "none"
    raise UserError(f"{doc['_path']}: no incident {incident!r} (incidents: {listing})")


def first_error(err: ValidationError) -> str:
    """A validation error in one line: where (the path of keys) and what is wrong there."""
    first = err.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def entry_of(entry: dict) -> IncidentEntry:
    """An incidents.json entry read back into its model; a malformed one is a one-line `UserError`."""
    try:
        return IncidentEntry.model_validate(entry)
    except ValidationError as err:
        raise UserError(f"incident {entry_id(entry)}: {first_error(err)}") from None


def plan_of(entry: dict) -> ExperimentPlan | None:
    """The entry's experiment plan (None when it has none)."""
    plan = entry.get("experiment_plan")
    if not plan:
        return None
    try:
        return TypeAdapter(ExperimentPlan).validate_python(plan)
    except ValidationError as err:
        raise UserError(f"incident {entry_id(entry)}: experiment_plan is malformed ({first_error(err)})") from None


def incident_from_entry(entry: dict) -> Incident:
    """The `Incident` an entry was written from: its regression and its causes (with their evidence)."""
    read = entry_of(entry)
    if read.regression is None:
        raise UserError(f"incident {entry_id(entry)}: cannot read it back (it carries no regression)")
    return Incident(read.regression, read.causes, read.inconclusive)
