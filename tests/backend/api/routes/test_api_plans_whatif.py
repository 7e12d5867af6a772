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
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json={"action": "rollback_policy_a"},
                    headers=auth("pm"))
    assert r.status_code == 501
    assert "recommendations.whatif" in r.json()["detail"] and "not installed" in r.json()["detail"]


def test_whatif_calls_the_stage_when_present(client, auth, incident_ids, monkeypatch):
    seen = {}

    def whatif(incident, action=None, params=None):
        seen.update(incident=incident, action=action, params=params)
        return {"metric": incident["metric"], "effect": 0.12, "interval": [0.08, 0.16]}

    module = types.ModuleType("recommendations")
    module.whatif = whatif
    monkeypatch.setitem(sys.modules, "recommendations", module)
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif",
                    json={"action": "rollback_policy_a", "params": {"share": 0.5}}, headers=auth("pm"))
    assert r.status_code == 200, r.text
    assert r.json() == {"metric": "on_time_rate", "effect": 0.12, "interval": [0.08, 0.16]}
    assert seen["action"] == "rollback_policy_a" and seen["params"] == {"share": 0.5}
    assert seen["incident"]["causes"][0]["change_event"] == "policy_a"
