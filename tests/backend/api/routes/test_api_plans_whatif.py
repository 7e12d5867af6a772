"""Experiment plans (JSON, Markdown, PDF, rendered by the recommendations stage) and what-if."""


def test_plan_json_markdown_pdf(client, auth, incident_ids):
    iid = incident_ids[0]
    plan = client.get(f"/api/incidents/{iid}/plan", headers=auth("pm"))
    assert plan.status_code == 200 and plan.json()["planned_days"] == 14
    md = client.get(f"/api/incidents/{iid}/plan/markdown", headers=auth("pm"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "attachment" in md.headers["content-disposition"]
    text = md.text
    assert text.startswith("# Experiment plan: Roll back policy_a in north")
    assert "| Randomization unit | region × 1-hour switchback" in text and "1. Flag ready" in text
    pdf = client.get(f"/api/incidents/{iid}/plan/pdf", headers=auth("pm"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000


def test_no_plan_is_404(client, auth, incident_ids):
    for suffix in ("plan", "plan/markdown", "plan/pdf"):
        r = client.get(f"/api/incidents/{incident_ids[1]}/{suffix}", headers=auth("pm"))
        assert r.status_code == 404 and "no experiment plan" in r.json()["detail"]


CHANGE = {"changes": [{"feature": "supply", "op": "scale", "value": 1.2}], "model": "glm", "bootstrap": 5}


def test_whatif_with_the_real_stage(client, auth, incident_ids):
    r = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json={**CHANGE, "scope": "*"}, headers=auth("pm"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changes"] == ["supply × 1.2"] and body["model"] == "glm"
    default = client.post(f"/api/incidents/{incident_ids[0]}/whatif", json=CHANGE, headers=auth("pm")).json()
    assert default["impact"]["scope"] == ["region=north"]  # the incident's top localized slice
    bad = client.post(f"/api/incidents/{incident_ids[0]}/whatif",
                      json={"changes": [{"feature": "nope", "op": "set", "value": 1}]}, headers=auth("pm"))
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    assert client.post(f"/api/incidents/{incident_ids[0]}/whatif", json={"changes": []},
                       headers=auth("pm")).status_code == 422


def test_a_malformed_plan_is_refused_at_ingest_naming_the_field(client, auth, workspace_id):
    from tests.backend.conftest import fixture_incidents

    item = fixture_incidents()[0]
    item["experiment_plan"] = {"title": "not the stage's format"}
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": [item]}, headers=auth("job"))
    assert r.status_code == 422 and "experiment_plan" in r.text and "incident_id" in r.text
