"""`recommend` end to end on a simulated policy change with a known answer."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import timedelta

import pytest

from data.slices import Slice, parse_scope
from rca.types import Cause, Incident
from recommendations.incidents_io import IncidentRecommendations
from recommendations import recommend, render_markdown
from recommendations.experiment import design_effect, sample_size_proportions
from recommendations.records import time_range
from recommendations.render import pm_summary
from tests.recommendations import sim
from tests.recommendations.conftest import SCOPE, batching_incident

JARGON = re.compile(r"p-value|confidence interval|\bCI\b|DiD|bootstrap|SHAP|statistic|significan|regression "
                    r"coefficient|standard error|\bICC\b|design effect", re.I)


def test_top_action_reverts_the_threshold_in_scope(recset):
    top = recset.top
    assert top.action.id == "revert_policy_threshold"
    assert top.scope == SCOPE
    assert top.title == "Revert batching_threshold from 4 to 2 in region east and west"
    assert top.impact.counterfactual == "batching_threshold set to 2"
    assert [r.rank for r in recset.recommendations] == list(range(1, len(recset.recommendations) + 1))
    assert recset.recommendations[-1].cause == "supply"


def test_impact_on_every_metric_covers_the_truth(recset, sim_ws, sim_world):
    imp = recset.top.impact
    assert [m.metric for m in imp.metrics] == [m["name"] for m in sim.METRICS]
    _, hi = time_range(sim_ws)
    truth = sim.true_rollback_effects(sim_world, (imp.window_start, hi + timedelta(seconds=1)))
    for mi in imp.metrics:
        assert mi.method == "did" and {e.method for e in mi.estimates} == {"did", "model"}
        # the headline (DiD) interval on every metric; the model's intervals are one sample's draw of five 95 %
        # events (all five covered the truth for 5 of the sample seeds 0-5 in hash() order, for 4 of them in
        # sample_key order): their coverage is test_impact.py's, over 100 worlds
        did = next(e for e in mi.estimates if e.method == "did")
        assert did.interval.contains(truth[mi.metric]), (mi.metric, did)
        if mi.type != "composite":
            assert mi.per_day == pytest.approx(mi.change * imp.orders_per_day, rel=0.1)
            assert mi.per_day_interval.low <= mi.per_day <= mi.per_day_interval.high
            assert mi.overall_change == pytest.approx(mi.change * imp.scope_share, rel=0.1)
    assert imp.metric("on_time_rate").improves is True
    assert imp.metric("courier_minutes_per_order").improves is False


def test_tradeoff_names_the_courier_minutes(recset):
    t = recset.top.tradeoff
    assert t.verdict == "recommended_with_cost"
    assert t.primary_metric == "on_time_rate" and t.gain > 0
    cost = next(c for c in t.costs if c.name == "courier_minutes_per_order")
    assert cost.kind == "efficiency" and cost.per_order > 0
    assert cost.money_per_day == pytest.approx(0.3 * cost.per_day)
    assert "courier minutes per order" in t.exchange_rate and "on time rate" in t.exchange_rate
    assert re.match(r"\+\d+\.\d pp on time rate for \+\d+\.\d+ min courier minutes per order", t.exchange_rate)
    assert "gives back what the change saved on courier minutes per order" in t.summary


def test_pm_summary_is_plain_and_grounded(recset, sim_ws, sim_world):
    text = recset.pm_summary
    assert not JARGON.search(text), JARGON.search(text)
    top = recset.top
    on_time = top.impact.metric("on_time_rate")
    assert f"{100 * on_time.change:.1f} pp" in text
    assert "courier minutes per order" in text and "Our call: do it, accepting the cost." in text
    assert f"{recset.experiment_plan.planned_days}-day test" in text and "stop early if" in text
    # a plan without guardrails has nothing to stop early on
    bare = dataclasses.replace(recset.experiment_plan, guardrails=())
    alone, _ = pm_summary(sim_ws.workspace, batching_incident(sim_world), recset.recommendations, bare)
    assert "stop early" not in alone and "  " not in alone and "at the end." in alone
    header, *rows = recset.pm_table
    assert header == ("Metric", "Now", "Expected change", "Likely range", "Per day", "Effect")
    assert len(rows) == len(sim.METRICS) and not any(JARGON.search(" ".join(r)) for r in rows)


def test_to_dict_and_markdown(recset):
    d = IncidentRecommendations.of(recset).model_dump(mode="json")
    assert d["recommendations"][0]["action"]["id"] == "revert_policy_threshold"
    assert d["recommendations"][0]["scope"] == ["region=east", "region=west"]
    assert d["recommendations"][0]["impact"]["orders_per_day"] > 0
    assert d["recommendation_status"] == "recommended"
    m = d["recommendations"][0]["impact"]["metrics"][0]
    assert set(m["interval"]) == {"low", "high", "level"} and m["per_day_interval"]["low"] is not None
    assert d["experiment_plan"]["unit"] == "switchback"
    md = render_markdown(recset)
    for heading in ("## Recommendations", "### Actions", "## Experiment plan", "### Guardrails", "### Stop criteria"):
        assert heading in md
    assert "| on_time_rate |" in md and "DiD (daily gaps)" in md


def test_experiment_plan(recset):
    plan = recset.experiment_plan
    assert plan.action_id == "revert_policy_threshold" and plan.primary_metric == "on_time_rate"
    assert plan.unit == "switchback" and plan.unit_label == "region × 1-hour switchback"
    assert "couriers" in plan.unit_reason
    assert plan.design_effect == pytest.approx(design_effect(plan.cluster_size, plan.icc))
    assert 0 <= plan.icc < 0.2 and plan.cluster_size > 1
    target = plan.baseline + plan.mde
    assert plan.n_per_arm_unclustered == math.ceil(sample_size_proportions(plan.baseline, target, plan.alpha,
                                                                           plan.power))
    assert plan.n_per_arm == pytest.approx(max(100, plan.n_per_arm_unclustered * plan.design_effect), abs=2)
    lo = plan.expected_interval.low
    assert plan.mde == pytest.approx(lo) and "low end" in plan.mde_basis
    assert plan.planned_days % 7 == 0 and plan.planned_days >= plan.days_needed + 2
    assert plan.days_needed == math.ceil(plan.n_per_arm / (plan.eligible_orders_per_day / 2))
    guards = {g.metric: g for g in plan.guardrails}
    assert set(guards) == {"cancellation_rate", "avg_delivery_minutes", "courier_minutes_per_order", "cx_score"}
    assert guards["courier_minutes_per_order"].margin >= guards["courier_minutes_per_order"].expected > 0
    assert "expected cost" in guards["courier_minutes_per_order"].reason
    assert any("sample-ratio" in s for s in plan.stop_criteria)
    assert any("Do not stop early" in s for s in plan.stop_criteria)
    assert len(plan.ramp) == 3 and plan.ramp[-1].share == 0.5
    assert plan.hypothesis.startswith("Revert batching_threshold from 4 to 2 in region east and west raises on time rate")


def test_carried_did_evidence_is_used(sim_ws, sim_world):
    rs = recommend(sim_ws, batching_incident(sim_world, with_evidence=True), plan=False)
    mi = rs.top.impact.metric("on_time_rate")
    assert mi.method == "evidence"
    assert mi.change == pytest.approx(0.1) and mi.interval.low == pytest.approx(0.06)
    assert rs.experiment_plan is None


def test_localized_slices_give_a_narrower_action(sim_ws, sim_world):
    incident = batching_incident(sim_world)
    reg = incident.regression.__class__(**{**incident.regression.__dict__,
                                           "slices": (Slice((("region", "east"),), share=0.9),)})
    rs = recommend(sim_ws, Incident(reg, incident.causes), plan=False)
    narrow = next(r for r in rs.recommendations if r.action.id == "narrow_change")
    assert narrow.scope == parse_scope("region=east")
    assert narrow.title == "Narrow batching_threshold_4: roll it back only in region east"
    assert narrow.impact.orders_per_day < rs.top.impact.orders_per_day


def test_event_without_feature_is_switched_off(sim_ws, sim_world):
    incident = batching_incident(sim_world)
    cause = Cause("change_event", "batching_threshold_4", None, SCOPE, 0.7, {}, "a logged change")
    rs = recommend(sim_ws, Incident(incident.regression, (cause,)), plan=False)
    top = rs.top
    assert top.action.id == "rollback_change" and top.title == "Roll back batching_threshold_4 in region east and west"
    assert top.impact.counterfactual == "batching_threshold_4 switched off"
    model = next(e for e in top.impact.metric("avg_delivery_minutes").estimates if e.method == "model")
    assert model.interval.contains(-5.0)


def test_inconclusive_incident_recommends_nothing(sim_ws, sim_world):
    incident = batching_incident(sim_world)
    rs = recommend(sim_ws, Incident(incident.regression, (), inconclusive=True))
    assert rs.recommendations == () and rs.experiment_plan is None
    assert "not recommending a change yet" in rs.pm_summary
    assert "inconclusive" in rs.notes[0]
    # the words follow the regression's direction: a rise is not called a drop
    fell, rose = (dataclasses.replace(incident.regression, direction=d) for d in ("down", "up"))
    assert "pin the drop" in recommend(sim_ws, Incident(fell, (), inconclusive=True)).pm_summary
    rs_up = recommend(sim_ws, Incident(rose, (), inconclusive=True))
    assert "pin the rise" in rs_up.pm_summary and " rose from " in rs_up.pm_summary
    assert "## Recommendations" in render_markdown(rs)


def test_the_causes_did_counts_for_the_incidents_metric_only(sim_ws, sim_world):
    """The RCA's DiD measured the incident's own metric: it is carried for that metric, not for the others."""
    incident = batching_incident(sim_world, with_evidence=True)
    rs = recommend(sim_ws, incident, plan=False)
    methods = {m.metric: {e.method for e in m.estimates} for m in rs.top.impact.metrics}
    assert "evidence" in methods["on_time_rate"]
    assert not any("evidence" in found for metric, found in methods.items() if metric != "on_time_rate")
