"""Feedback: confirmed / false_alarm / expected_change, recorded, audited, and moving the status."""

import pytest

from backend.models import AuditEntry


@pytest.mark.parametrize("label, status", [("confirmed", "acknowledged"), ("false_alarm", "dismissed"),
                                           ("expected_change", "dismissed")])
def test_feedback_is_recorded_and_moves_the_status(client, auth, incident_ids, sessions, label, status):
    iid = incident_ids[0]
    r = client.post(f"/api/incidents/{iid}/feedback", json={"label": label, "comment": "checked"},
                    headers=auth("engineer"))
    assert r.status_code == 201, r.text
    assert r.json()["label"] == label and r.json()["actor"] == "engineer-token"
    detail = client.get(f"/api/incidents/{iid}", headers=auth("pm")).json()
    assert detail["status"] == status and detail["feedback"][0]["comment"] == "checked"
    page = client.get(f"/api/incidents/{iid}/feedback", headers=auth("pm")).json()
    assert page["count"] == 1
    with sessions() as s:
        assert s.query(AuditEntry).filter_by(action="incident.feedback").one().after["label"] == label
        assert s.query(AuditEntry).filter_by(action="incident.status").one().after["status"] == status


def test_feedback_on_a_resolved_incident_keeps_it_resolved(client, auth, incident_ids):
    iid = incident_ids[0]
    client.patch(f"/api/incidents/{iid}", json={"status": "resolved"}, headers=auth("engineer"))
    client.post(f"/api/incidents/{iid}/feedback", json={"label": "false_alarm"}, headers=auth("engineer"))
    assert client.get(f"/api/incidents/{iid}", headers=auth("pm")).json()["status"] == "resolved"


def test_bad_feedback(client, auth, incident_ids):
    assert client.post(f"/api/incidents/{incident_ids[0]}/feedback", json={"label": "meh"},
                       headers=auth("engineer")).status_code == 422
    assert client.post("/api/incidents/999/feedback", json={"label": "confirmed"},
                       headers=auth("engineer")).status_code == 404
