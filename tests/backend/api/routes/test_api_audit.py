"""The audit trail: every state change appended with actor, time, before and after; nothing edits it."""

import pytest
import sqlalchemy as sa

from backend.models import AuditEntry


def test_state_changes_are_audited(client, auth, workspace_id, incident_ids):
    iid = incident_ids[0]
    client.patch(f"/api/incidents/{iid}", json={"status": "acknowledged"}, headers=auth("engineer"))
    client.post(f"/api/incidents/{iid}/feedback", json={"label": "confirmed"}, headers=auth("engineer"))
    action = client.get("/api/actions", headers=auth("engineer")).json()["data"][0]
    client.post(f"/api/actions/{action['id']}/approve", json={}, headers=auth("engineer"))
    client.post("/api/tokens", json={"role": "pm", "name": "alice"}, headers=auth("engineer"))
    client.post(f"/api/workspaces/{workspace_id}/detect", json={}, headers=auth("job"))
    page = client.get("/api/audit", params={"limit": 500}, headers=auth("engineer")).json()
    actions = {e["action"] for e in page["data"]}
    assert {"workspace.create", "incident.create", "incident.status", "incident.feedback", "action.propose",
            "action.approve", "token.create", "run.succeeded"} <= actions
    for entry in page["data"]:
        assert entry["actor"] and entry["actor_role"] and entry["at"]
    status = next(e for e in page["data"] if e["action"] == "incident.status")
    assert status["before"]["status"] == "open" and status["after"]["status"] == "acknowledged"
    assert status["actor"] == "engineer-token" and status["actor_role"] == "engineer"
    token = next(e for e in page["data"] if e["action"] == "token.create" and e["after"]["name"] == "alice")
    assert "token_hash" not in token["after"] and "token" not in token["after"]
    run = next(e for e in page["data"] if e["action"] == "run.succeeded")
    assert run["actor"] == "job-token" and run["after"]["incidents_new"] == 0
    filtered = client.get("/api/audit", params={"entity_type": "incident", "entity_id": str(iid)},
                          headers=auth("engineer")).json()
    assert filtered["count"] >= 3 and {e["entity_id"] for e in filtered["data"]} == {str(iid)}
    one = client.get(f"/api/audit/{status['id']}", headers=auth("engineer")).json()
    assert one == status
    assert client.get("/api/audit/999999", headers=auth("engineer")).status_code == 404
    assert client.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"},
                      headers=auth("engineer")).json()["count"] == 0


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/audit", "/api/audit/1"])
def test_no_endpoint_edits_or_deletes_audit(client, auth, incident_ids, method, path):
    r = client.request(method, path, json={"actor": "mallory"}, headers=auth("engineer"))
    assert r.status_code == 405


def test_the_database_refuses_to_change_audit(sessions, client, auth, incident_ids):
    """Append-only also below the API: triggers reject UPDATE and DELETE."""
    with sessions() as s:
        count = s.query(AuditEntry).count()
        assert count > 0
        for statement in (sa.update(AuditEntry).values(actor="mallory"), sa.delete(AuditEntry)):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                s.execute(statement)
            s.rollback()
        assert s.query(AuditEntry).count() == count
        assert s.query(AuditEntry).filter_by(actor="mallory").count() == 0
