"""Incidents: ingest with dedup, list with filters and pages, summary, detail, lifecycle, drill-down."""

import pytest

from backend.models import AuditEntry, Incident, OutboxMessage
from tests.backend.conftest import fixture_incidents


def test_ingest_twice_updates_instead_of_duplicating(client, auth, workspace_id, incident_ids, sessions):
    again = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": fixture_incidents()},
                        headers=auth("job"))
    assert again.status_code == 201
    assert again.json()["created"] == 0 and again.json()["updated"] == 2
    with sessions() as s:
        assert s.query(Incident).count() == 2
        assert {i.seen_count for i in s.query(Incident)} == {2}


def test_overlapping_window_extends_the_same_incident(client, auth, workspace_id, incident_ids):
    later = fixture_incidents()[:1]
    later[0].update(start="2026-01-03T00:00:00", end="2026-01-04T05:00:00", current=0.70)
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": later}, headers=auth("job"))
    assert r.json()["created"] == 0 and r.json()["updated"] == 1
    inc = client.get(f"/api/incidents/{incident_ids[0]}", headers=auth("pm")).json()
    assert inc["start"] == "2026-01-02T10:00:00" and inc["end"] == "2026-01-04T05:00:00"
    assert inc["current"] == 0.70 and inc["seen_count"] == 2


def test_a_different_slice_or_later_window_is_a_new_incident(client, auth, workspace_id, incident_ids):
    other = fixture_incidents()[:1]
    other[0]["slice"] = "region=north"
    new_window = fixture_incidents()[:1]
    new_window[0].update(start="2026-02-01T00:00:00", end="2026-02-02T00:00:00")
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": other + new_window},
                    headers=auth("job"))
    assert r.json()["created"] == 2


def test_ingest_rejects_bad_entries(client, auth, workspace_id, sessions):
    bad = fixture_incidents()[:1]
    bad[0]["end"] = "2026-01-01T00:00:00"
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": bad}, headers=auth("job"))
    assert r.status_code == 422 and "before start" in r.json()["detail"]
    bad = fixture_incidents()[:1]
    bad[0]["direction"] = "sideways"
    assert client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": bad},
                       headers=auth("job")).status_code == 422
    with sessions() as s:
        assert s.query(Incident).count() == 0
    assert client.post("/api/workspaces/999/incidents", json={"incidents": []}, headers=auth("job")).status_code == 404


def test_list_filters_and_pages(client, auth, incident_ids):
    get = lambda **p: client.get("/api/incidents", params=p, headers=auth("pm")).json()  # noqa: E731
    assert get()["count"] == 2
    assert [i["metric"] for i in get(metric="on_time_rate")["data"]] == ["on_time_rate"]
    assert get(severity="high")["count"] == 1 and get(severity="low")["count"] == 1
    assert get(status="open")["count"] == 2 and get(status="resolved")["count"] == 0
    assert get(since="2026-01-04T00:00:00")["count"] == 0
    assert get(since="2026-01-03T12:00:00+00:00")["count"] == 2
    page = get(limit=1, offset=1)
    assert page["count"] == 2 and len(page["data"]) == 1 and page["data"][0]["metric"] == "on_time_rate"
    assert client.get("/api/incidents", params={"status": "bogus"}, headers=auth("pm")).status_code == 422


def test_summary_counts(client, auth, incident_ids):
    s = client.get("/api/incidents/summary", headers=auth("pm")).json()
    assert s["count"] == 2 and s["by_status"] == {"open": 2}
    assert s["by_severity"] == {"high": 1, "low": 1}
    assert s["by_metric"] == {"on_time_rate": 1, "cancel_rate": 1}


def test_detail_has_slices_causes_evidence_recommendations_plan(client, auth, incident_ids):
    d = client.get(f"/api/incidents/{incident_ids[0]}", headers=auth("pm")).json()
    assert d["external_id"] == "reg-on_time_rate-north-1"
    assert d["slices"][0] == {"slice": "region=north", "share": 0.83}
    assert d["causes"][0]["evidence"]["did"]["interval"] == {"low": -0.19, "high": -0.13, "level": 0.95}
    assert d["causes"][0]["evidence"]["timing"]["detail"]["hours_from_change_point"] == 0.0
    assert d["top_cause"] == "policy_change: policy_a" and d["top_confidence"] == 0.93
    assert [r["action"]["id"] for r in d["recommendations"]] == ["rollback_policy_a", "add_couriers_north"]
    assert d["recommendations"][1]["impact"]["changes"] == [{"feature": "supply", "op": "scale", "value": 1.1}]
    assert d["experiment_plan"]["unit"] == "switchback"
    assert d["p_value"] == 0.00002 and d["q_value"] == 0.0004 and "extra" not in d
    assert d["recommendation_status"] is None and d["next_steps"] == []
    assert d["dedup_key"].endswith(":on_time_rate:*:2026-01-02T10:00:00")
    assert d["relative_change"] == pytest.approx((0.74 - 0.91) / 0.91)
    assert client.get("/api/incidents/424242", headers=auth("pm")).status_code == 404


def test_detail_serves_recommendation_status_next_steps_and_analyze_keys(client, auth, workspace_id):
    """The keys `cxw analyze` writes beside recommendations come back unchanged as typed fields; a key the
    entry does not define is refused, naming it."""
    owner, other = fixture_incidents()
    written = {"pm_summary": "On time rate fell; revert policy A.", "pm_table": [["Metric", "Now"], ["on time rate", "74%"]],
               "recommendation_notes": ["no cost model"]}
    owner.update(written, recommendation_status="recommended", next_steps=[])
    steps = [{"check": "Confirm that cancel rate really moved.", "decides": "the next days of cancel rate"}]
    other.update(recommendations=[], experiment_plan=None, recommendation_status="inconclusive", next_steps=steps)
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": [owner, other]}, headers=auth("job"))
    ids = {i["metric"]: i["id"] for i in r.json()["data"]}
    o = client.get(f"/api/incidents/{ids[owner['metric']]}", headers=auth("pm")).json()
    assert {k: o[k] for k in written} == written
    assert o["recommendation_status"] == "recommended" and o["next_steps"] == []
    assert o["recommendations"] == owner["recommendations"] and o["experiment_plan"] == owner["experiment_plan"]
    d = client.get(f"/api/incidents/{ids[other['metric']]}", headers=auth("pm")).json()
    assert d["recommendation_status"] == "inconclusive" and d["next_steps"] == steps and d["recommendations"] == []
    unknown = client.post(f"/api/workspaces/{workspace_id}/incidents",
                          json={"incidents": [{**owner, "recommendations_markdown": "### Recommendations"}]},
                          headers=auth("job"))
    assert unknown.status_code == 422 and "recommendations_markdown" in unknown.text
    bad = client.post(f"/api/workspaces/{workspace_id}/incidents",
                      json={"incidents": [{**owner, "recommendation_status": "maybe"}]}, headers=auth("job"))
    assert bad.status_code == 422


def test_lifecycle_transitions_owner_notes_audited(client, auth, incident_ids, sessions):
    iid = incident_ids[0]
    patch = lambda body: client.patch(f"/api/incidents/{iid}", json=body, headers=auth("engineer"))  # noqa: E731
    r = patch({"status": "acknowledged", "owner": "dana", "notes": "looking"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged" and r.json()["owner"] == "dana"
    assert patch({"status": "resolved"}).json()["status"] == "resolved"
    r = patch({"status": "acknowledged"})
    assert r.status_code == 409 and "resolved" in r.json()["detail"]
    assert patch({"status": "open"}).json()["status"] == "open"  # reopen
    assert patch({"status": "dismissed"}).json()["status"] == "dismissed"
    assert patch({"status": "closed"}).status_code == 422
    with sessions() as s:
        entries = s.query(AuditEntry).filter_by(entity_type="incident", entity_id=str(iid)) \
            .filter(AuditEntry.action.in_(["incident.status", "incident.update"])).order_by(AuditEntry.id).all()
        assert [(e.before["status"], e.after["status"]) for e in entries] == [
            ("open", "acknowledged"), ("acknowledged", "resolved"), ("resolved", "open"), ("open", "dismissed")]
        assert entries[0].after["owner"] == "dana" and entries[0].actor == "engineer-token"


def test_rerun_keeps_the_human_status(client, auth, workspace_id, incident_ids):
    client.patch(f"/api/incidents/{incident_ids[0]}", json={"status": "acknowledged"}, headers=auth("engineer"))
    client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": fixture_incidents()},
                headers=auth("job"))
    assert client.get(f"/api/incidents/{incident_ids[0]}", headers=auth("pm")).json()["status"] == "acknowledged"


def test_new_incidents_queue_configured_webhooks_once(app, client, auth, workspace_id, sessions, settings):
    app.state.settings = settings.model_copy(update={"webhooks": ["http://127.0.0.1:9/hook"]})
    for _ in range(2):
        client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": fixture_incidents()},
                    headers=auth("job"))
    with sessions() as s:
        assert s.query(OutboxMessage).count() == 2  # one per new incident, not per post


def test_drill_down_children_add_up_to_the_parent_change(client, auth, workspace_id, incident_ids):
    assert client.get(f"/api/incidents/{incident_ids[0]}/slices", headers=auth("pm")).status_code == 409
    client.post(f"/api/workspaces/{workspace_id}/cube", headers=auth("engineer"))
    r = client.get(f"/api/incidents/{incident_ids[0]}/slices", headers=auth("pm"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parent"] == "*"
    change = body["parent_current"] - body["parent_baseline"]
    by_dim: dict[str, float] = {}
    for child in body["data"]:
        by_dim[child["slice"].split("=")[0]] = by_dim.get(child["slice"].split("=")[0], 0) + child["contribution"]
    assert set(by_dim) == {"region", "store", "channel"}
    for total in by_dim.values():
        assert total == pytest.approx(change)
    north = client.get(f"/api/incidents/{incident_ids[0]}/slices", params={"parent": "region=north"},
                       headers=auth("pm")).json()
    assert north["parent"] == "region=north" and north["count"] == 6  # 4 stores + 2 channels
    assert all(c["slice"].startswith(("channel=", "region=north&")) or "region=north" in c["slice"]
               for c in north["data"])


ALL_STATUSES = ("open", "acknowledged", "resolved", "dismissed")
DOCUMENTED = {("open", "acknowledged"), ("open", "resolved"), ("open", "dismissed"), ("acknowledged", "open"),
              ("acknowledged", "resolved"), ("acknowledged", "dismissed"), ("resolved", "open"), ("dismissed", "open")}


@pytest.mark.parametrize("before, after", [(b, a) for b in ALL_STATUSES for a in ALL_STATUSES if a != b])
def test_every_transition_is_as_documented(client, auth, incident_ids, before, after):
    """documents/api.md's lifecycle, pair by pair: the listed moves are 200, every other one 409."""
    iid = incident_ids[0]
    path = {"open": [], "acknowledged": ["acknowledged"], "resolved": ["resolved"], "dismissed": ["dismissed"]}
    for step in path[before]:
        assert client.patch(f"/api/incidents/{iid}", json={"status": step}, headers=auth("engineer")).status_code == 200
    r = client.patch(f"/api/incidents/{iid}", json={"status": after}, headers=auth("engineer"))
    assert r.status_code == (200 if (before, after) in DOCUMENTED else 409), r.text


def test_drill_down_and_series_address_values_holding_ampersand_equals_and_percent(client, auth, tmp_path):
    """A workspace whose region values hold & = %: the drill-down lists them (raw cube labels), drills into
    each when it is written as the series route's slice (%26 %3D %25, as the UI writes it), and each
    child's series answers with the records it holds."""
    from tests.conftest import tiny_records, write_workspace

    records = tiny_records(900)
    odd = {"north": "north&east", "south": "a=b", "east": "50%"}
    records["region"] = records["region"].map(odd).astype(object)
    wid = client.post("/api/workspaces", json={"path": str(write_workspace(tmp_path / "odd", records))},
                      headers=auth("engineer")).json()["id"]
    client.post(f"/api/workspaces/{wid}/cube", headers=auth("engineer"))
    incident = client.post(f"/api/workspaces/{wid}/incidents", json={"incidents": fixture_incidents()[:1]},
                           headers=auth("job")).json()["data"][0]["id"]

    def slices(parent: str | None = None):
        r = client.get(f"/api/incidents/{incident}/slices", params={} if parent is None else {"parent": parent},
                       headers=auth("pm"))
        assert r.status_code == 200, r.text
        return r.json()

    top = slices()
    regions = {c["slice"] for c in top["data"] if c["slice"].startswith("region=")}
    assert regions == {f"region={v}" for v in [*odd.values(), "(null)"]}
    escaped = {"north&east": "north%26east", "a=b": "a%3Db", "50%": "50%25"}
    for value, text in escaped.items():
        body = slices(f"region={text}")
        assert body["parent"] == f"region={value}" and body["count"] == 6  # 4 stores + 2 channels
        for child in body["data"]:
            other = child["slice"].replace(f"region={value}", "").strip("&")
            dim, _, v = other.partition("=")
            assert dim in ("channel", "store")
            param = "&".join(sorted([f"region={text}", other]))
            points = client.get(f"/api/workspaces/{wid}/series", params={"metric": "on_time_rate", "slice": param},
                                headers=auth("pm")).json()["points"]
            expected = int(((records["region"] == value) & (records[dim] == v)).sum())
            assert expected > 0 and sum(p["n"] for p in points) == expected
    # the raw form of a value holding & names no dimension after the &: a 422 that says how to write it
    r = client.get(f"/api/incidents/{incident}/slices", params={"parent": "region=north&east"}, headers=auth("pm"))
    assert r.status_code == 422 and "%26" in r.json()["detail"]
