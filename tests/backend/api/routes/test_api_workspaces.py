"""Workspaces: register by path, list, read, update, cube, series, change events, runs, detection."""

import pytest

from backend.models import AuditEntry, Workspace
from tests.conftest import tiny_records, write_workspace


def test_register_validates_and_describes_the_workspace(client, auth, workspace_path):
    r = client.post("/api/workspaces", json={"path": str(workspace_path), "description": "tiny"},
                    headers=auth("engineer"))
    assert r.status_code == 201, r.text
    ws = r.json()
    assert ws["name"] == "tiny" and ws["source"] == "registered" and ws["grain"] == "hour"
    assert ws["dimensions"] == ["channel", "region", "store"]
    assert {m["name"] for m in ws["metrics"]} >= {"on_time_rate", "cancel_rate", "score"}
    units = {m["name"]: m["unit"] for m in ws["metrics"]}
    # a rate moves in pp, a composite of rates in points of its 0-100 scale; other metrics keep their declared unit
    assert units["score"] == "pts" and units["on_time_rate"] == "pp" and units["avg_minutes"] is None
    assert ws["has_cube"] is False


def test_register_twice_is_a_conflict(client, auth, workspace_path, workspace_id):
    r = client.post("/api/workspaces", json={"path": str(workspace_path.parent)}, headers=auth("engineer"))
    assert r.status_code == 409
    assert "already registered" in r.json()["detail"]


@pytest.mark.parametrize("problem", ["missing", "bad-column"])
def test_register_invalid_workspace_is_422_naming_the_mistake(client, auth, tmp_path, sessions, problem):
    from tests.conftest import write_workspace

    if problem == "missing":
        path, expected = tmp_path / "nowhere" / "workspace.yaml", "workspace file not found"
    else:
        path = write_workspace(tmp_path / "bad")
        path.write_text(path.read_text().replace("- channel", "- no_such_column"))
        expected = "no_such_column"
    r = client.post("/api/workspaces", json={"path": str(path)}, headers=auth("engineer"))
    assert r.status_code == 422
    assert expected in r.json()["detail"]
    with sessions() as s:
        assert s.query(Workspace).count() == 0


def test_list_is_paginated(client, auth, tmp_path):
    from tests.conftest import write_workspace

    for i in range(3):
        r = client.post("/api/workspaces", json={"path": str(write_workspace(tmp_path / f"w{i}"))},
                        headers=auth("engineer"))
        assert r.status_code == 201
    page = client.get("/api/workspaces", params={"limit": 2, "offset": 1}, headers=auth("pm")).json()
    assert page["count"] == 3 and len(page["data"]) == 2
    assert client.get("/api/workspaces", params={"limit": 0}, headers=auth("pm")).status_code == 422


def test_read_update_and_audit(client, auth, workspace_id, sessions):
    assert client.get(f"/api/workspaces/{workspace_id}", headers=auth("pm")).json()["id"] == workspace_id
    assert client.get("/api/workspaces/999", headers=auth("pm")).status_code == 404
    r = client.patch(f"/api/workspaces/{workspace_id}", json={"name": "Food CX"}, headers=auth("engineer"))
    assert r.status_code == 200 and r.json()["name"] == "Food CX"
    with sessions() as s:
        entry = s.query(AuditEntry).filter_by(action="workspace.update").one()
        assert entry.before["name"] == "tiny" and entry.after["name"] == "Food CX"
        assert entry.actor == "engineer-token"


def test_series_reads_the_cube_with_intervals(client, auth, workspace_id):
    r = client.get(f"/api/workspaces/{workspace_id}/series", params={"metric": "on_time_rate"}, headers=auth("pm"))
    assert r.status_code == 409 and "no metric cube" in r.json()["detail"]
    assert client.post(f"/api/workspaces/{workspace_id}/cube", headers=auth("engineer")).json()["has_cube"]
    r = client.get(f"/api/workspaces/{workspace_id}/series",
                   params={"metric": "on_time_rate", "slice": "store=s1&region=north"}, headers=auth("pm"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["slice"] == "region=north&store=s1"  # canonical order
    points = body["points"]
    assert points and all(p["n"] > 0 for p in points)
    for p in points:
        if p["value"] is not None and p["low"] is not None:
            assert p["low"] <= p["value"] <= p["high"]
            assert p["value"] == pytest.approx(p["numerator"] / p["denominator"])
    total = client.get(f"/api/workspaces/{workspace_id}/series", params={"metric": "score"}, headers=auth("pm")).json()
    assert total["slice"] == "*" and len(total["points"]) == 72 and total["points"][0]["low"] is None


def test_series_errors(client, auth, workspace_id):
    client.post(f"/api/workspaces/{workspace_id}/cube", headers=auth("engineer"))
    r = client.get(f"/api/workspaces/{workspace_id}/series", params={"metric": "nope"}, headers=auth("pm"))
    assert r.status_code == 404 and "on_time_rate" in r.json()["detail"]
    r = client.get(f"/api/workspaces/{workspace_id}/series", params={"metric": "on_time_rate", "slice": "region"},
                   headers=auth("pm"))
    assert r.status_code == 422
    r = client.get(f"/api/workspaces/{workspace_id}/series", params={"metric": "on_time_rate", "slice": "region=mars"},
                   headers=auth("pm"))
    assert r.status_code == 200 and r.json()["points"] == []


def test_change_events_from_the_log(client, auth, workspace_id):
    page = client.get(f"/api/workspaces/{workspace_id}/changes", headers=auth("pm")).json()
    assert page["count"] == 2
    assert {e["name"] for e in page["data"]} == {"policy_a", "release_9"}
    policy = next(e for e in page["data"] if e["name"] == "policy_a")
    assert policy["scope"] == "region=north" and policy["kind"] == "policy"
    assert client.get(f"/api/workspaces/{workspace_id}/changes", params={"limit": 1},
                      headers=auth("pm")).json()["count"] == 2


def test_detect_endpoint_runs_the_job(client, auth, tmp_path):
    from tests.conftest import write_workspace

    # the tiny workspace's three days hold a one-day baseline and a two-day window: a real (small) analysis
    path = write_workspace(tmp_path / "short", detection={"baseline_days": 1})
    workspace_id = client.post("/api/workspaces", json={"path": str(path)}, headers=auth("engineer")).json()["id"]
    r = client.post(f"/api/workspaces/{workspace_id}/detect", json={}, headers=auth("job"))
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "succeeded" and run["actor"] == "job-token" and run["since"] is None
    assert run["scanned"]["window_start"] == "2026-01-02T00:00:00" and run["scanned"]["records_from"] is None
    again = client.post(f"/api/workspaces/{workspace_id}/detect", json={}, headers=auth("job")).json()
    assert again["status"] == "skipped" and again["scanned"] is None
    runs = client.get(f"/api/workspaces/{workspace_id}/runs", headers=auth("engineer")).json()
    assert runs["count"] == 2 and [r["status"] for r in runs["data"]] == ["skipped", "succeeded"]
    all_runs = client.get("/api/runs", params={"workspace_id": workspace_id}, headers=auth("engineer")).json()
    assert all_runs["count"] == 2
    assert client.get(f"/api/runs/{run['id']}", headers=auth("engineer")).json()["scanned"] == run["scanned"]
    assert client.get(f"/api/workspaces/{workspace_id}", headers=auth("pm")).json()["has_cube"]
    assert client.get("/api/runs/12345", headers=auth("engineer")).status_code == 404


def test_series_addresses_values_holding_ampersand_equals_and_percent(client, auth, tmp_path):
    records = tiny_records(900)
    records["region"] = records["region"].map({"north": "north&east", "south": "a=b", "east": "50%"}).astype(object)
    path = write_workspace(tmp_path / "odd", records)
    wid = client.post("/api/workspaces", json={"path": str(path)}, headers=auth("engineer")).json()["id"]
    client.post(f"/api/workspaces/{wid}/cube", headers=auth("engineer"))

    def series(slice_text):
        return client.get(f"/api/workspaces/{wid}/series", params={"metric": "cancel_rate", "slice": slice_text},
                          headers=auth("pm"))

    for value, escaped in (("north&east", "north%26east"), ("a=b", "a%3Db"), ("50%", "50%25")):
        r = series(f"store=s1&region={escaped}")
        assert r.status_code == 200, r.text
        expected = int(((records["region"] == value) & (records["store"] == "s1")).sum())
        assert expected > 0 and sum(p["n"] for p in r.json()["points"]) == expected
        assert r.json()["slice"] == f"region={escaped}&store=s1"  # canonical, and usable as a request again
        assert series(r.json()["slice"]).json()["points"] == r.json()["points"]
    assert sum(p["n"] for p in series("region=50%").json()["points"]) == int((records["region"] == "50%").sum())
    # what cannot mean a slice of this workspace is a 422, not an empty 200
    r = series("region=north&east")
    assert r.status_code == 422 and "%26" in r.json()["detail"]
    r = series("region=a&b=c")
    assert r.status_code == 422 and "'b' is not a dimension of this workspace" in r.json()["detail"]
    assert series("region=x&region=y").status_code == 422
