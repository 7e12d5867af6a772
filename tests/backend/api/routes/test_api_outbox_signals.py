"""Signals posted by the job; the outbox listed and delivered on demand."""


def test_job_posts_metric_signals_engineer_reads_them(client, auth, workspace_id):
    body = {"signals": [{"ts": "2026-01-02T10:00:00Z", "source": "deploys", "name": "release_9", "value": 1,
                         "attributes": {"sha": "abc"}, "workspace_id": workspace_id},
                        {"ts": "2026-01-02T11:00:00", "source": "alerts", "name": "p99_latency", "value": 840.5}]}
    r = client.post("/api/metric-signals", json=body, headers=auth("job"))
    assert r.status_code == 201 and r.json() == {"stored": 2}
    page = client.get("/api/metric-signals", headers=auth("engineer")).json()
    assert page["count"] == 2 and page["data"][0]["name"] == "p99_latency"
    assert page["data"][1]["attributes"] == {"sha": "abc"} and page["data"][1]["received_by"] == "job-token"
    assert client.get("/api/metric-signals", params={"source": "deploys"}, headers=auth("engineer")).json()["count"] == 1
    assert client.get("/api/metric-signals", params={"since": "2026-01-02T10:30:00"},
                      headers=auth("engineer")).json()["count"] == 1
    assert client.get("/api/metric-signals", params={"since": "2026-01-02T12:30:00+02:00"},  # 10:30 UTC
                      headers=auth("engineer")).json()["count"] == 1
    bad = {"signals": [{"ts": "2026-01-02T10:00:00", "source": "x", "name": "y", "workspace_id": 999}]}
    assert client.post("/api/metric-signals", json=bad, headers=auth("job")).status_code == 422
    assert client.post("/api/metric-signals", json={"signals": []}, headers=auth("job")).status_code == 422
    assert client.post("/api/metric-signals", json=body, headers=auth("pm")).status_code == 403


def test_outbox_list_and_deliver(app, client, auth, workspace_id, settings):
    from tests.backend.receiver import WebhookReceiver

    with WebhookReceiver(fail_first=0) as hook:
        app.state.settings = settings.model_copy(update={"webhooks": [hook.url]})
        client.post(f"/api/workspaces/{workspace_id}/incidents",
                    json={"incidents": __import__("tests.backend.conftest", fromlist=["x"]).fixture_incidents()},
                    headers=auth("job"))
        pending = client.get("/api/outbox", params={"status": "pending"}, headers=auth("engineer")).json()
        assert pending["count"] == 2
        r = client.post("/api/outbox/deliver", headers=auth("job"))
        assert r.json() == {"delivered": 2, "failed": 0, "pending": 0}
        assert len(hook.received) == 2
    delivered = client.get("/api/outbox", params={"status": "delivered"}, headers=auth("engineer")).json()
    assert delivered["count"] == 2 and all(m["attempts"] == 1 for m in delivered["data"])
