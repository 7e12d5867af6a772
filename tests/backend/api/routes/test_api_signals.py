"""The signals loop on the real path: ingestion → analysis → proposals → an engineer's decision → dry run and
execution through the outbox → audit trail and feedback; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest

from data.synthetic.signals import simulate_migration
from tests.backend.receiver import WebhookReceiver


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("sim") / "sim"
    simulate_migration(out, merchants=100, days=14, seed=8, patterns=("checkout_callback", "sync_rate_limit", "token_v1"))
    return [json.loads(line) for line in (out / "signals.jsonl").read_text().splitlines()]


@pytest.fixture
def receiver():
    with WebhookReceiver(fail_first=1) as r:
        yield r


@pytest.fixture
def settings(settings, receiver):
    return settings.model_copy(update={"signal_tool_urls": {"escalation": receiver.url,
                                                            "webhook_post": receiver.url}})


def _ingest(client, auth, rows):
    for start in range(0, len(rows), 5000):
        r = client.post("/api/signals", json={"signals": rows[start:start + 5000]}, headers=auth("job"))
        assert r.status_code == 201, r.text


def test_batches_are_validated_deduplicated_and_limited(client, auth, simulated):
    rows = simulated[:300]
    r = client.post("/api/signals", json={"signals": rows}, headers=auth("job"))
    assert r.json() == {"received": 300, "stored": 300, "duplicates": 0}
    again = client.post("/api/signals", json={"signals": rows[:10] + rows[:2]}, headers=auth("job")).json()
    assert again == {"received": 12, "stored": 0, "duplicates": 12}
    assert client.get("/api/signals", headers=auth("engineer")).json()["count"] == 300
    bad = [rows[0] | {"id": "new-1"}, {**next(x for x in rows if x["type"] == "api_error"), "id": "new-2", "status": 99}]
    r = client.post("/api/signals", json={"signals": bad}, headers=auth("job"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:4] == ["body", "signals", 1, "api_error"]
    assert r.json()["detail"][0]["loc"][-1] == "status"
    assert client.get("/api/signals", headers=auth("engineer")).json()["count"] == 300  # nothing half-stored
    too_many = [rows[0] | {"id": f"x{i}"} for i in range(5001)]
    r = client.post("/api/signals", json={"signals": too_many}, headers=auth("job"))
    assert r.status_code == 422 and "5000" in r.text
    assert client.post("/api/signals", json={"signals": rows[:1]}, headers=auth("pm")).status_code == 403


def test_the_approval_loop(client, auth, simulated, receiver):
    _ingest(client, auth, simulated)
    assert client.post("/api/signals/analysis", json={}, headers=auth("pm")).status_code == 403
    assert client.post("/api/signals/analysis", json={}, headers=auth("job")).status_code == 403
    r = client.post("/api/signals/analysis", json={}, headers=auth("engineer"))
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    assert report["raised"] == 3 and report["signals"] == sum(1 for x in simulated if x["type"] != "migration_state")
    latest = client.get("/api/signals/analysis/latest", headers=auth("pm")).json()
    assert latest["id"] == r.json()["id"]
    callback = next(p for p in report["patterns"] if p["hypotheses"] and p["hypotheses"][0]["id"] == "callback_url_change")
    detail = client.get(f"/api/signals/patterns/{callback['id']}", headers=auth("pm")).json()
    assert {p["action"] for p in detail["proposals"]} == {"escalate_platform_team", "notify_affected_merchants",
                                                          "draft_doc_update"}
    queue = client.get("/api/signals/proposals", params={"status": "proposed"}, headers=auth("pm")).json()
    assert queue["count"] >= 3 and all(p["needs_approval"] for p in queue["data"])
    escalate = next(p for p in detail["proposals"] if p["action"] == "escalate_platform_team")
    notify = next(p for p in detail["proposals"] if p["action"] == "notify_affected_merchants")

    # PMs cannot decide; engineers can, once; a rejection needs a reason
    url = f"/api/signals/proposals/{escalate['id']}"
    assert client.post(f"{url}/approve", json={}, headers=auth("pm")).status_code == 403
    assert client.post(f"{url}/execute", json={}, headers=auth("engineer")).status_code == 409  # not approved yet
    ok = client.post(f"{url}/approve", json={"reason": "matches the incident channel"}, headers=auth("engineer"))
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert client.post(f"{url}/approve", json={}, headers=auth("engineer")).status_code == 409
    assert client.post(f"/api/signals/proposals/{notify['id']}/reject", json={"reason": ""},
                       headers=auth("engineer")).status_code == 422
    rejected = client.post(f"/api/signals/proposals/{notify['id']}/reject", json={"reason": "merchants were mailed"},
                           headers=auth("engineer")).json()
    assert rejected["status"] == "rejected" and rejected["reason"] == "merchants were mailed"

    # dry run by default: rendered, audited, nothing queued
    dry = client.post(f"{url}/execute", json={}, headers=auth("engineer")).json()
    assert dry["result"]["dry_run"] is True and dry["status"] == "approved"
    assert dry["result"]["url"] == receiver.url
    assert client.get("/api/outbox", headers=auth("engineer")).json()["count"] == 0
    # for real: through the outbox; the receiver fails once, the retry delivers; a second run queues nothing
    run = client.post(f"{url}/execute", json={"dry_run": False}, headers=auth("engineer")).json()
    assert run["status"] == "executed" and run["result"]["queued"] is True
    again = client.post(f"{url}/execute", json={"dry_run": False}, headers=auth("engineer")).json()
    assert again["result"]["queued"] is False
    for _ in range(60):  # the first attempt fails; the retry is due after the backoff (0.05 s here)
        client.post("/api/outbox/deliver", headers=auth("job"))
        if receiver.received:
            break
        time.sleep(0.05)
    assert len(receiver.received) == 1 and receiver.received[0]["action"] == "escalate_platform_team"
    messages = client.get("/api/outbox", headers=auth("engineer")).json()["data"]
    assert [(m["proposal_id"], m["status"], m["attempts"]) for m in messages] == [(escalate["id"], "delivered", 2)]

    # the audit trail holds every step
    trail = client.get("/api/audit", params={"entity_type": "signal_proposal", "entity_id": escalate["id"]},
                       headers=auth("engineer")).json()["data"]
    assert [e["action"] for e in reversed(trail)] == [
        "signal_proposal.propose", "signal_proposal.approve", "signal_proposal.dry_run", "signal_proposal.execute",
        "signal_proposal.execute", "signal_proposal.attempt", "signal_proposal.attempt"]
    assert trail[-2]["actor"] == "engineer-token" and trail[0]["after"]["status"] == "delivered"
    # what the guardrails let run alone (the token pattern's internal ticket) was approved and dry-run at once
    auto = [p for p in client.get("/api/signals/proposals", params={"status": "approved"},
                                  headers=auth("engineer")).json()["data"] if p["decided_by"] == "guardrails"]
    assert auto and all(p["tool"] in ("internal_ticket", "doc_draft") and not p["needs_approval"] for p in auto)
    assert all(p["result"]["dry_run"] is True and p["hypothesis"] == "token_version_mismatch" for p in auto)

    # feedback: one approval and one rejection of callback_url_change, visible on the next analysis
    second = client.post("/api/signals/analysis", json={}, headers=auth("engineer")).json()["report"]
    hyp = next(p for p in second["patterns"] if p["id"] == callback["id"])["hypotheses"][0]
    assert hyp["id"] == "callback_url_change"
    assert (hyp["feedback_approved"], hyp["feedback_rejected"], hyp["feedback_factor"]) == (1, 1, 1.0)
