"""The read micro-cache: hits serve the same body, API writes invalidate at once, other writers within the TTL."""

import time

from backend.actors import Actor
from backend.crud import incidents as crud_incidents
from backend.models import Incident


def test_writes_through_the_api_are_seen_at_once(client, auth, incident_ids):
    first = client.get("/api/incidents", headers=auth("pm")).json()
    assert first["data"][1]["status"] == "open"
    client.patch(f"/api/incidents/{incident_ids[0]}", json={"status": "acknowledged"}, headers=auth("engineer"))
    assert client.get("/api/incidents", headers=auth("pm")).json()["data"][1]["status"] == "acknowledged"
    assert client.get(f"/api/incidents/{incident_ids[0]}", headers=auth("pm")).json()["status"] == "acknowledged"
    assert client.get("/api/incidents/summary", headers=auth("pm")).json()["by_status"] == {"acknowledged": 1,
                                                                                           "open": 1}


def test_other_writers_are_seen_within_the_ttl(app, client, auth, incident_ids, sessions):
    app.state.read_cache.ttl = 0.3
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] is None
    with sessions.begin() as s:  # e.g. the cron job in another process
        crud_incidents.update(s, s.get(Incident, incident_ids[1]), status=None, owner="kim", notes=None,
                              actor=Actor("job", "job"))
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] is None  # cached
    time.sleep(0.35)
    assert client.get(f"/api/incidents/{incident_ids[1]}", headers=auth("pm")).json()["owner"] == "kim"


def test_roles_are_checked_before_the_cache(client, auth, incident_ids):
    assert client.get("/api/incidents", headers=auth("pm")).status_code == 200
    assert client.get("/api/incidents", headers=auth("job")).status_code == 403
    assert client.get("/api/incidents").status_code == 401
    assert client.get("/api/incidents/999", headers=auth("pm")).status_code == 404
