"""The incident report's narrative paragraphs (the causes' summaries, the inconclusive verdicts, the PM
summaries) through the narrator: today's report without a model, each kind of model reply, and `cxw
analyze` against the stand-in on 127.0.0.1.

The fixture is the incidents document (with its rendered recommendations) of two small generated
analyses — a conclusive incident and an inconclusive one — and ``incident-report.md`` is the report the
code before the narrative seam rendered from it."""

from __future__ import annotations

import copy
import json

import pytest

from backend.cli import main
from data.workspace import load_workspace
from rca.report import render_markdown
from recommendations import render_markdown as render_recommendations
from recommendations.types import RecommendationSet
from tests.llm_standin import reworded, stand_in  # noqa: F401  (the fixture)
from tests.narratives.conftest import FIXTURES, check_mixed, check_narration
from tests.rca.helpers import at_day, panel_records, write_workspace


@pytest.fixture(scope="module")
def incidents():
    return json.loads((FIXTURES / "incidents-doc.json").read_text()), load_workspace(FIXTURES / "workspace.yaml")


def test_without_a_model_the_report_is_the_templates_report(incidents):
    doc, ws = incidents
    assert render_markdown(doc, ws) == (FIXTURES / "incident-report.md").read_text()


def _render(doc: dict, ws):
    """The report with each incident's recommendations section rendered through the same narrator (as
    `backend.analysis.RecommendationEnricher` does), from the incident's PM summary."""
    def render(narrate) -> str:
        entries = copy.deepcopy(doc)
        for entry in entries["incidents"]:
            recset = RecommendationSet(entry["id"], entry["metric"], (), None, entry["pm_summary"],
                                       tuple(tuple(r) for r in entry["pm_table"]))
            entry["recommendations_markdown"] = render_recommendations(recset, heading_level=3, narrate=narrate)
        return render_markdown(entries, ws, narrate)
    return render


def test_each_model_reply(incidents, reply, server, caplog):
    doc, ws = incidents
    text = check_narration(_render(doc, ws), reply, server, caplog)
    if reply.rejected is None:
        assert "In short: Y mean rose from 5.04 to 5.86 in grp g1" in text  # a PM summary
        assert "**Inconclusive.** In short: No candidate cause reaches the confidence bar" in text


def test_a_rejected_paragraph_keeps_its_template_beside_a_reworded_one(incidents, stand_in):  # noqa: F811
    check_mixed(_render(*incidents), stand_in)


def test_cxw_analyze_words_the_report_through_the_configured_model(tmp_path, stand_in, monkeypatch):  # noqa: F811
    records = panel_records(seed=2, days=20, units_per_group=10, per_hour=1,
                            effects={lambda u, g: g == "g1": (16, lambda d: 0.6 + 0 * d)})
    path = write_workspace(tmp_path / "ws", records, changes=[(at_day(16), "pool_resize", "release", "grp=g1")])
    monkeypatch.setenv("CXW_LLM_BASE_URL", stand_in.provider.base_url)
    monkeypatch.setenv("CXW_LLM_MODEL", "stand-in")
    monkeypatch.setenv("CXW_LLM_API_KEY", "provider-key")
    monkeypatch.setenv("CXW_SECRET_KEY", "the-service-secret-never-sent")
    stand_in.always(reworded)
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--recommend", "1", "--quiet"]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    doc = json.loads((tmp_path / "out" / "incidents.json").read_text())
    incident = doc["incidents"][0]
    sent = stand_in.user_texts()
    # the PM summary (from the enricher) and the cause's summary (from the report), each sent once
    assert sent == [incident["pm_summary"], incident["causes"][0]["summary"]]
    assert f"In short: {incident['pm_summary']}" in report and f"In short: {incident['causes'][0]['summary']}" in report
    assert report.split("\n")[2] == (
        "**Narrative:** reworded by the language model `stand-in`, every number checked against the computed ones: "
        f"incident {incident['id']}: the PM summary; incident {incident['id']}: cause 1.")
    assert "In short" not in json.dumps(doc)  # the JSON keeps the computed values and the templates' text
    assert all(h["authorization"] == "Bearer provider-key" for h in stand_in.headers)
    assert not any("the-service-secret-never-sent" in json.dumps(r) for r in stand_in.requests + stand_in.headers)
