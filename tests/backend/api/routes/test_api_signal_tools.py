"""Outbound signal tools with no URL configured: a dry run still shows what would be sent and to which tool
(and is audited); a real run is a 409 with one clear line, and nothing is queued."""

from __future__ import annotations

import json

from data.synthetic.signals import simulate_migration


def test_a_dry_run_needs_no_url_a_real_run_does(client, auth, settings, tmp_path):
    assert settings.signal_tool_urls == {}
    simulate_migration(tmp_path / "sim", merchants=20, days=6, seed=1, patterns=("token_v1",))
    rows = [json.loads(line) for line in (tmp_path / "sim" / "signals.jsonl").read_text().splitlines()]
    assert client.post("/api/signals", json={"signals": rows}, headers=auth("job")).status_code == 201
    r = client.post("/api/signals/analysis", json={"window_days": 3}, headers=auth("engineer"))
    assert r.status_code == 201 and r.json()["report"]["raised"] == 1
    queue = client.get("/api/signals/proposals", params={"status": "proposed"}, headers=auth("engineer")).json()
    reissue = next(p for p in queue["data"] if p["action"] == "reissue_tokens")
    url = f"/api/signals/proposals/{reissue['id']}"
    assert client.post(f"{url}/approve", json={}, headers=auth("engineer")).status_code == 200

    dry = client.post(f"{url}/execute", json={}, headers=auth("engineer"))
    assert dry.status_code == 200, dry.text
    result = dry.json()["result"]
    assert result["dry_run"] is True and result["tool"] == "webhook_post" and result["url"] is None
    assert result["body"]["action"] == "reissue_tokens" and result["body"]["proposal_id"] == reissue["id"]
    assert "no URL is configured for webhook_post" in result["note"]

    real = client.post(f"{url}/execute", json={"dry_run": False}, headers=auth("engineer"))
    assert real.status_code == 409
    assert real.json()["detail"] == ("tool webhook_post has no URL: set it in CXW_SIGNAL_TOOL_URLS to run it for "
                                     "real (a dry run needs none)")
    approved = client.get("/api/signals/proposals", params={"status": "approved"}, headers=auth("engineer")).json()
    assert reissue["id"] in {p["id"] for p in approved["data"]}  # still approved: the refusal changed nothing
    assert client.get("/api/outbox", headers=auth("engineer")).json()["count"] == 0
    trail = client.get("/api/audit", params={"entity_type": "signal_proposal", "entity_id": reissue["id"]},
                       headers=auth("engineer")).json()["data"]
    assert [e["action"] for e in reversed(trail)] == ["signal_proposal.propose", "signal_proposal.approve",
                                                      "signal_proposal.dry_run"]
    assert trail[0]["after"]["result"]["url"] is None
