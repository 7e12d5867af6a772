"""Experiment plans (JSON, Markdown, PDF, rendered by the recommendations stage) and what-if."""

import time


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


def _finished(client, auth, url: str) -> dict:
    """Poll a what-if run until it has ended (the UI's loop), checking every report on the way."""
    deadline = time.monotonic() + 60
    while True:
        r = client.get(url, headers=auth("pm"))
        assert r.status_code == 200, r.text
        run = r.json()
        assert 0 <= run["progress"] <= 1 and run["stage"]
        if run["status"] != "running":
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def test_a_whatif_run_reports_its_stage_then_the_same_answer(client, auth, incident_ids):
    iid = incident_ids[0]
    started = client.post(f"/api/incidents/{iid}/whatif/runs", json={**CHANGE, "scope": "*"}, headers=auth("pm"))
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["incident_id"] == iid and run["status"] == "running" and run["result"] is None
    url = f"/api/incidents/{iid}/whatif/runs/{run['id']}"
    done = _finished(client, auth, url)
    assert done["status"] == "succeeded" and done["progress"] == 1 and done["finished_at"] is not None
    direct = client.post(f"/api/incidents/{iid}/whatif", json={**CHANGE, "scope": "*"}, headers=auth("pm")).json()
    assert done["result"] == direct  # the same what-if, the same answer
    assert client.get(f"/api/incidents/{incident_ids[1]}/whatif/runs/{run['id']}",
                      headers=auth("pm")).status_code == 404  # a run is read through its own incident
    assert client.get(f"/api/incidents/{iid}/whatif/runs/{'0' * 32}", headers=auth("pm")).status_code == 404

    bad = client.post(f"/api/incidents/{iid}/whatif/runs", json={"changes": [{"feature": "nope", "op": "set", "value": 1}]},
                      headers=auth("pm"))
    failed = _finished(client, auth, f"/api/incidents/{iid}/whatif/runs/{bad.json()['id']}")
    assert failed["status"] == "failed" and "nope" in failed["error"] and failed["result"] is None
    assert client.post(f"/api/incidents/{iid}/whatif/runs", json={**CHANGE, "scope": "colour"},
                       headers=auth("pm")).status_code == 422  # a malformed scope never starts a run
    assert client.post("/api/incidents/999999/whatif/runs", json=CHANGE, headers=auth("pm")).status_code == 404


def test_a_malformed_plan_is_refused_at_ingest_naming_the_field(client, auth, workspace_id):
    from tests.backend.conftest import fixture_incidents

    item = fixture_incidents()[0]
    item["experiment_plan"] = {"title": "not the stage's format"}
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": [item]}, headers=auth("job"))
    assert r.status_code == 422 and "experiment_plan" in r.text and "incident_id" in r.text
