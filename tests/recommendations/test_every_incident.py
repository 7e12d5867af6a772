"""Every incident gets its own recommendations (or next steps), sharing one outcome model.

`cxw analyze` enriches each incident through `RecommendationEnricher`; incidents with the same cause
must each carry recommendations ranked for their own metric and a plan whose primary metric is
theirs, while the outcome model is fitted once; an inconclusive incident gets labelled next steps and
no numbers.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from backend.analysis import RecommendationEnricher
from data.slices import Slice
from rca.analyze import analyze
from rca.types import Cause, Incident
from recommendations import render_markdown
from tests.recommendations.conftest import batching_incident, timing_ev


@pytest.fixture(scope="module")
def incidents(sim_world):
    on_time = batching_incident(sim_world)
    minutes = batching_incident(sim_world, metric="avg_delivery_minutes")
    minutes = replace(minutes, regression=replace(minutes.regression, id="reg-2", direction="up"))
    weak = Cause("supply", None, "courier_supply_ratio", (Slice((("region", "north"),)),), 0.12,
                 {"timing": timing_ev(0.4, hours=30.0)}, "supply fell in north")
    unclear = Incident(replace(on_time.regression, id="reg-3", metric="cancellation_rate", direction="up",
                               slices=(Slice((("region", "north"),), share=0.8),)), (weak,), inconclusive=True)
    return on_time, minutes, unclear


@pytest.fixture(scope="module")
def enriched(sim_ws, incidents):
    enrich = RecommendationEnricher()
    enrich.prepare(sim_ws, list(incidents))
    return enrich, [enrich(sim_ws, inc, {}) for inc in incidents]


def test_each_conclusive_incident_has_its_own_recommendations_and_plan(enriched, incidents):
    _, entries = enriched
    for inc, entry in zip(incidents[:2], entries[:2], strict=True):
        assert entry["recommendation_status"] == "recommended"
        assert entry["recommendations"], inc.regression.id
        top = entry["recommendations"][0]
        assert top["action"]["id"] == "revert_policy_threshold"
        assert top["tradeoff"]["primary_metric"] == inc.regression.metric
        assert entry["experiment_plan"]["primary_metric"] == inc.regression.metric
        assert entry["experiment_plan"]["incident_id"] == inc.regression.id
        assert "### Recommendations" in entry["recommendations_markdown"]
        json.dumps(entry, allow_nan=False)


def test_one_outcome_model_and_shared_estimates(enriched):
    enrich, entries = enriched
    assert len(enrich.recommender.scenes_) == 1
    on_time, minutes = (e["recommendations"][0]["impact"] for e in entries[:2])
    assert on_time["metrics"] == minutes["metrics"]  # the same action, scope and windows: the same estimates


def test_inconclusive_incident_gets_next_steps_not_numbers(enriched, incidents):
    _, entries = enriched
    entry = entries[2]
    assert entry["recommendation_status"] == "inconclusive"
    assert entry["recommendations"] == [] and entry["experiment_plan"] is None
    steps = entry["next_steps"]
    assert len(steps) >= 2 and all(s["check"] and s["decides"] for s in steps)
    assert any("courier_supply_ratio" in s["check"] and "timing" in s["check"] for s in steps)
    assert any("around" in s["decides"] for s in steps)  # the failed timing test: the data around the change
    md = entry["recommendations_markdown"]
    assert "Next steps (inconclusive cause: no action recommended, no impact estimated)" in md
    assert "What would decide it" in md


def test_analyze_prepares_once_and_writes_every_incident(sim_ws, sim_world, incidents, tmp_path):
    calls = []

    class Spy(RecommendationEnricher):
        def prepare(self, ow, incs):
            calls.append([i.regression.id for i in incs])
            super().prepare(ow, incs)

    result = analyze(sim_ws, tmp_path, regressions=[incidents[0].regression], enrich=Spy())
    assert len(calls) == 1 and calls[0] == [i.regression.id for i in result.incidents]
    doc = json.loads((tmp_path / "incidents.json").read_text())
    report = (tmp_path / "report.md").read_text()
    for entry in doc["incidents"]:
        assert "recommendations" in entry and "experiment_plan" in entry and "recommendation_status" in entry
    assert report.count("### Recommendations") == len(doc["incidents"])


def test_render_markdown_says_inconclusive(sim_ws, incidents):
    from recommendations import Recommender

    rs = Recommender(sim_ws).recommend(incidents[2])
    assert rs.status == "inconclusive" and rs.recommendations == () and rs.experiment_plan is None
    assert "no action recommended" in render_markdown(rs)
