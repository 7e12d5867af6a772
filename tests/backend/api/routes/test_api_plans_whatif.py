"""Experiment plans (JSON, Markdown, PDF) and what-if (501 until the recommendations stage lands)."""

import sys
import types


def test_plan_json_markdown_pdf(client, auth, incident_ids):
    iid = incident_ids[0]
    plan = client.get(f"/api/incidents/{iid}/plan", headers=auth("pm"))
    assert plan.status_code == 200 and plan.json()["duration_days"] == 14
    md = client.get(f"/api/incidents/{iid}/plan/markdown", headers=auth("pm"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "attachment" in md.headers["content-disposition"]
    text = md.text
    assert text.startswith("# Roll back policy_a in north: switchback test")
    assert "## Randomization unit" in text and "- Review guardrails daily" in text
    assert "policy_a (confidence 93%)" in text
    pdf = client.get(f"/api/incidents/{iid}/plan/pdf", headers=auth("pm"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000


def test_no_plan_is_404(client, auth, incident_ids):
    for suffix in ("plan", "plan/markdown", "plan/pdf"):
        r = client.get(f"/api/incidents/{incident_ids[1]}/{suffix}", headers=auth("pm"))
        assert r.status_code == 404 and "no experiment plan" in r.json()["detail"]


def test_whatif_without_the_stage_is_501_with_a_clear_message(client, auth, incident_ids, monkeypatch):
    monkeypatch.setitem(sys.modules, "recommendations", types.ModuleType("recommendations"))
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json=CHANGE, headers=auth("pm"))
    assert r.status_code == 501
    assert "recommendations.whatif" in r.json()["detail"] and "not installed" in r.json()["detail"]


CHANGE = {"changes": [{"feature": "supply", "op": "scale", "value": 1.2}], "model": "glm", "bootstrap": 5}


def test_whatif_calls_the_stage_with_the_incidents_scope(client, auth, incident_ids, monkeypatch):
    from dataclasses import dataclass

    seen = {}

    @dataclass(frozen=True)
    class DriverChange:
        feature: str
        op: str
        value: object = None

    def whatif(ow, changes, scope="*", *, window_days=7.0, model=None, bootstrap=None):
        seen.update(workspace=ow.workspace.name, changes=changes, scope=scope, window_days=window_days, model=model)
        return {"changes": [f"{c.feature} x {c.value}" for c in changes], "model": model}

    module = types.ModuleType("recommendations")
    module.whatif, module.DriverChange = whatif, DriverChange
    monkeypatch.setitem(sys.modules, "recommendations", module)
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json=CHANGE, headers=auth("pm"))
    assert r.status_code == 200, r.text
    assert r.json() == {"changes": ["supply x 1.2"], "model": "glm"}
    assert seen["scope"] == "region=north" and seen["workspace"] == "tiny"  # the top localized slice
    assert seen["changes"] == [DriverChange("supply", "scale", 1.2)]


def test_whatif_with_the_real_stage(client, auth, incident_ids):
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json={**CHANGE, "scope": "*"}, headers=auth("pm"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changes"] == ["supply × 1.2"] and body["model"] == "glm"
    bad = client.post(f"/api/incidents/{incident_ids[0]}/whatif",
                      json={"changes": [{"feature": "nope", "op": "set", "value": 1}]}, headers=auth("pm"))
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    assert client.post(f"/api/incidents/{incident_ids[0]}/whatif", json={"changes": []},
                       headers=auth("pm")).status_code == 422


STAGE_PLAN = {
    "incident_id": "reg-on_time_rate-north-1", "action_id": "rollback_policy_a", "title": "Roll back policy_a",
    "hypothesis": "Rolling back policy_a raises on_time_rate in region=north", "scope": ["region=north"],
    "primary_metric": "on_time_rate", "metric_type": "rate", "unit_of_metric": "pts", "baseline": 0.74,
    "baseline_sd": 0.44, "expected_change": 0.15, "expected_interval": {"low": 0.1, "high": 0.2, "level": 0.95},
    "mde": 0.03, "mde_basis": "a third of the expected change", "alpha": 0.05, "power": 0.8, "effect_size": 0.07,
    "n_per_arm_unclustered": 3000, "unit": "switchback", "unit_label": "region × 1-hour switchback",
    "unit_reason": "couriers are shared within a region", "icc": 0.02, "cluster_size": 40.0, "design_effect": 1.8,
    "n_per_arm": 5400, "clusters_per_arm": 135, "planned_orders_per_arm": 6000, "planned_units_per_arm": 150,
    "eligible_orders_per_day": 900.0, "traffic_share": 0.5, "days_needed": 12, "planned_days": 14,
    "guardrails": [{"metric": "cancel_rate", "baseline": 0.1, "margin": 0.01, "expected": 0.0, "reason": "CX",
                    "type": "rate"}],
    "ramp": [{"share": 0.1, "days": 2, "gate": "no guardrail breach"}],
    "checklist": ["Flag ready"], "rollout": ["Announce"], "stop_criteria": ["cancel_rate +1 pt"], "notes": [],
}


def test_a_plan_in_the_stages_format_renders_with_its_renderer(client, auth, workspace_id):
    from tests.backend.conftest import fixture_incidents

    item = fixture_incidents()[0]
    item["experiment_plan"] = STAGE_PLAN
    iid = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": [item]},
                      headers=auth("job")).json()["data"][0]["id"]
    md = client.get(f"/api/incidents/{iid}/plan/markdown", headers=auth("pm")).text
    assert "Roll back policy_a" in md and "switchback" in md
    pdf = client.get(f"/api/incidents/{iid}/plan/pdf", headers=auth("pm"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
