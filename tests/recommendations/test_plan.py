"""Experiment plans as Markdown and PDF (with their tables), from the API and from `cxw plan`."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from backend.cli import main
from recommendations import render_plan_markdown, render_plan_pdf
from pydantic import TypeAdapter

from rca.report import incident_report
from recommendations.incidents_io import IncidentRecommendations, incident_from_entry
from recommendations.types import ExperimentPlan
from tests.recommendations.conftest import batching_incident


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_pdf_renders_with_its_tables(recset, tmp_path):
    plan = recset.experiment_plan
    path = render_plan_pdf(plan, tmp_path / "plan.pdf")
    assert path.stat().st_size > 3000
    text = _pdf_text(path)
    for heading in ("Experiment plan", "Hypothesis", "Design", "Guardrails", "Ramp", "Launch checklist", "Rollout",
                    "Stop criteria"):
        assert heading in text, heading
    # table cells: design rows, guardrail rows and ramp rows
    for cell in ("Primary metric", "Randomization unit", "Sample size", "Duration", "courier_minutes_per_order",
                 "cancellation_rate", "Treated share", "switchback"):
        assert cell in text, cell
    assert f"{plan.n_per_arm:,}" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_markdown_plan(recset):
    md = render_plan_markdown(recset.experiment_plan)
    assert md.startswith("# Experiment plan: Revert batching_threshold")
    assert "| Randomization unit | region × 1-hour switchback" in md
    assert "1 + (m - 1) x ICC" in md
    assert md.count("\n- Stop") >= 3


def test_plan_round_trips_through_json(recset):
    plan = recset.experiment_plan
    wire = TypeAdapter(ExperimentPlan)
    again = wire.validate_json(wire.dump_json(plan))
    assert again == plan and render_plan_markdown(again) == render_plan_markdown(plan)


@pytest.fixture
def incidents_dir(recset, sim_world, tmp_path):
    incident = batching_incident(sim_world)
    report = incident_report(incident).model_dump(mode="json")
    entry = {**report, "id": "inc-1", **IncidentRecommendations.of(recset).model_dump(mode="json")}
    bare = {**report, "id": "inc-2"}
    (tmp_path / "incidents.json").write_text(json.dumps({"incidents": [entry, bare]}))
    return tmp_path


def test_cli_plan_md_and_pdf(incidents_dir, recset, capsys):
    out_md = incidents_dir / "plan.md"
    assert main(["plan", str(incidents_dir), "--incident", "inc-1", "--format", "md", "--out", str(out_md)]) == 0
    assert out_md.read_text() == render_plan_markdown(recset.experiment_plan)
    out_pdf = incidents_dir / "plan.pdf"
    assert main(["plan", str(incidents_dir / "incidents.json"), "--incident", "inc-1", "--out", str(out_pdf)]) == 0
    assert "Guardrails" in _pdf_text(out_pdf)


def test_cli_plan_recomputes_with_a_workspace(incidents_dir, sim_ws, capsys):
    out = incidents_dir / "inc2.md"
    assert main(["plan", str(incidents_dir), "--incident", "inc-2", "--out", str(out)]) == 2
    assert "has no experiment_plan" in capsys.readouterr().err
    assert main(["plan", str(incidents_dir), "--incident", "inc-2", "--out", str(out),
                 "--workspace", str(sim_ws.workspace.source_file)]) == 0
    assert "Revert batching_threshold from 4 to 2" in out.read_text()


def test_cli_plan_errors(incidents_dir, capsys):
    assert main(["plan", str(incidents_dir), "--incident", "nope", "--out", str(incidents_dir / "x.md")]) == 2
    assert "no incident 'nope' (incidents: inc-1, inc-2)" in capsys.readouterr().err
    assert main(["plan", str(incidents_dir), "--incident", "inc-1", "--format", "docx",
                 "--out", str(incidents_dir / "x.docx")]) == 2
    assert "--format 'docx'" in capsys.readouterr().err
    assert main(["plan", str(incidents_dir / "missing"), "--incident", "inc-1", "--out", "x.md"]) == 2


def test_incident_reads_back(sim_world):
    incident = batching_incident(sim_world, with_evidence=True)
    written = json.loads(incident_report(incident).model_dump_json())
    again = incident_from_entry(written)
    assert again.regression == incident.regression
    assert again.causes == incident.causes
