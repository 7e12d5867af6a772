"""On the generator's `batching_policy` scenario the top action reverts the threshold where it was raised.

The cause is built by hand from truth.json (as the RCA stage would name it), with a decoy change
event as a competing cause. The same seed under the `none` scenario is the exact counterfactual of the
data, so reverting the policy has a known realized effect in the affected regions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pytest

from data.slices import Slice, parse_scope
from data.sources import open_workspace
from detection.types import Interval, Regression
from rca.types import Cause, Incident
from tests.recommendations.conftest import timing_ev
from recommendations import recommend

cx = pytest.importorskip("data.synthetic.cx")

ORDERS, DAYS, SEED = 120_000, 28, 7


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("bp")
    cx.generate_cx(ORDERS, DAYS, SEED, "batching_policy", root / "policy")
    cx.generate_cx(ORDERS, DAYS, SEED, "none", root / "none")
    truth = json.loads((root / "policy" / "truth.json").read_text())
    return root, truth


def _realized(root, scope_sql: str, t0: datetime) -> dict[str, float]:
    con = duckdb.connect()
    q = ("SELECT avg(CASE WHEN delivered_at <= promised_at THEN 1.0 WHEN delivered_at IS NOT NULL THEN 0.0 END), "
         "avg(courier_minutes) FROM read_parquet('{}/orders/*.parquet') WHERE {} AND created_at >= TIMESTAMP '{}'")
    policy = con.execute(q.format(root / "policy", scope_sql, t0)).fetchone()
    none = con.execute(q.format(root / "none", scope_sql, t0)).fetchone()
    return {"on_time_rate": none[0] - policy[0], "courier_minutes_per_order": none[1] - policy[1]}


def test_top_action_reverts_the_threshold_in_the_affected_regions(scenario):
    root, truth = scenario
    inj = truth["injections"][0]
    scope = parse_scope(inj["scope"])
    t0 = datetime.fromisoformat(inj["start"])
    ow = open_workspace(root / "policy" / "workspace.yaml")
    reg = Regression(
        id="reg-bp", metric="on_time_rate", direction="down", start=t0, end=t0 + timedelta(days=13),
        baseline=0.86, current=0.82, change=-0.04, change_interval=Interval(-0.05, -0.03), relative_change=-0.05,
        relative_interval=Interval(-0.06, -0.04), p_value=1e-8, q_value=1e-7, slice=Slice(()),
        slices=tuple(Slice(s.filters, share=0.5) for s in scope), baseline_start=t0 - timedelta(days=14))
    cause = Cause(inj["cause"]["hypothesis"], inj["cause"]["change_event"], inj["cause"]["feature"], scope, 0.8,
                  {"timing": timing_ev(0.001)}, "from truth.json",
                  ("rollback_change", "tune_parameter", "staged_rollout"))
    decoy_name = truth["decoys"][0]
    decoy_event = next(e for e in ow.changes if e.name == decoy_name)
    decoy = Cause("change_event", decoy_name, None, decoy_event.scope, 0.15, {}, "decoy", ("rollback_change",))
    rs = recommend(ow, Incident(reg, (cause, decoy)), sample=6000, bootstrap=10)

    top = rs.top
    assert top.action.id == "revert_policy_threshold"
    assert top.scope == scope and top.change_event == "batching_threshold_4"
    assert top.impact.counterfactual == "batching_threshold set to 2"
    assert top.title.startswith("Revert batching_threshold from 4 to 2 in region")
    assert all(r.change_event != decoy_name for r in rs.recommendations[:1])

    # what it buys and what it costs, against the exact counterfactual (the `none` scenario)
    realized = _realized(root, "region IN ('" + "', '".join(v for s in scope for _, v in s.filters) + "')", t0)
    on_time = top.impact.metric("on_time_rate")
    courier = top.impact.metric("courier_minutes_per_order")
    assert on_time.improves is True and on_time.interval.contains(realized["on_time_rate"])
    assert courier.change > 0 and courier.interval.contains(realized["courier_minutes_per_order"])

    # the tradeoff names the courier minutes the policy saved (and that reverting gives back)
    t = top.tradeoff
    assert t.verdict == "recommended_with_cost"
    assert [c.name for c in t.costs] == ["courier_minutes_per_order"]
    assert "courier minutes per order" in t.exchange_rate
    assert "saved on courier minutes per order" in t.summary
    assert "courier minutes per order" in rs.pm_summary

    plan = rs.experiment_plan
    assert plan.action_id == "revert_policy_threshold" and plan.unit == "switchback"
    assert plan.primary_metric == "on_time_rate" and plan.n_per_arm > 0 and plan.planned_days >= 7
