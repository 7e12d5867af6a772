"""Actions: proposed by the job from new incidents' recommendations (or by an engineer), approved or
rejected once by an engineer, every step audited."""

from backend.models import AuditEntry


def test_the_job_proposes_each_recommendation_once(client, auth, workspace_id, incident_ids):
    page = client.get("/api/actions", params={"incident_id": incident_ids[0]}, headers=auth("engineer")).json()
    assert page["count"] == 2
    assert {a["key"] for a in page["data"]} == {"rollback_policy_a:policy_a:region=north", "add_couriers_north:supply:region=north"}
    assert {a["source"] for a in page["data"]} == {"job"} and {a["status"] for a in page["data"]} == {"proposed"}
    assert {a["proposed_by"] for a in page["data"]} == {"job-token"}
    dup = client.post(f"/api/incidents/{incident_ids[0]}/actions", json={"recommendation": 0},
                      headers=auth("engineer"))
    assert dup.status_code == 409 and "already proposed" in dup.json()["detail"]


def test_approve_once_audited(client, auth, incident_ids, sessions):
    action = client.get("/api/actions", params={"incident_id": incident_ids[0]},
                        headers=auth("engineer")).json()["data"][0]
    assert client.get(f"/api/actions/{action['id']}", headers=auth("engineer")).json() == action
    ok = client.post(f"/api/actions/{action['id']}/approve", json={"comment": "go"}, headers=auth("engineer"))
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["decided_by"] == "engineer-token"
    again = client.post(f"/api/actions/{action['id']}/reject", json={}, headers=auth("engineer"))
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    with sessions() as s:
        entry = s.query(AuditEntry).filter_by(action="action.approve").one()
        assert entry.before["status"] == "proposed" and entry.after["status"] == "approved"
        assert entry.after["decision_comment"] == "go" and entry.actor == "engineer-token"
    assert client.get("/api/actions", params={"status": "approved"}, headers=auth("engineer")).json()["count"] == 1


def test_engineer_proposes_by_hand_and_rejects(client, auth, incident_ids):
    r = client.post(f"/api/incidents/{incident_ids[1]}/actions",
                    json={"title": "Call the web team", "description": "check the release"}, headers=auth("engineer"))
    assert r.status_code == 201 and r.json()["source"] == "manual" and r.json()["proposed_by"] == "engineer-token"
    rej = client.post(f"/api/actions/{r.json()['id']}/reject", json={"comment": "noise"}, headers=auth("engineer"))
    assert rej.json()["status"] == "rejected" and rej.json()["decision_comment"] == "noise"


def test_bad_proposals(client, auth, incident_ids):
    r = client.post(f"/api/incidents/{incident_ids[0]}/actions", json={"recommendation": 7}, headers=auth("engineer"))
    assert r.status_code == 422 and "2 recommendation(s)" in r.json()["detail"]
    assert client.post(f"/api/incidents/{incident_ids[0]}/actions", json={},
                       headers=auth("engineer")).status_code == 422
    assert client.get("/api/actions/999", headers=auth("engineer")).status_code == 404


def test_pm_and_job_cannot_decide(client, auth, incident_ids):
    action = client.get("/api/actions", headers=auth("engineer")).json()["data"][0]
    for role in ("pm", "job"):
        assert client.post(f"/api/actions/{action['id']}/approve", json={}, headers=auth(role)).status_code == 403
