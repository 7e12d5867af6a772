"""POST /api/ask over a registered workspace (the tiny one: other column names and metrics than the demo):
numbers checked with pandas, follow-ups through the returned intent, refusals, bad bodies and contexts."""

from __future__ import annotations

import pandas as pd

from metrics.definitions import NULL_LABEL
from tests.conftest import tiny_records


def _post(client, auth, role="pm", **body):
    return client.post("/api/ask", json=body, headers=auth(role))


def test_pm_asks_and_follows_up(client, auth, workspace_id):
    d = tiny_records()
    yesterday = (d.created_at >= pd.Timestamp("2026-01-02")) & (d.created_at < pd.Timestamp("2026-01-03"))
    north = d.region == "north"
    r = _post(client, auth, workspace_id=workspace_id, question="How many orders were cancelled in region North yesterday?")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["answered"] and answer["rows"][0]["value"] == int((d.cancelled & north & yesterday).sum())
    assert "north" not in answer["query"] and "north" in answer["parameters"]
    assert answer["interpretation"].startswith("the number of records where cancel_rate is true")
    follow = _post(client, auth, workspace_id=workspace_id, question="only for store 2", context=answer["intent"])
    assert follow.status_code == 200, follow.text
    store2 = d.store == "s2"
    assert follow.json()["rows"][0]["value"] == int((d.cancelled & north & yesterday & store2).sum())
    rate = _post(client, auth, "engineer", workspace_id=workspace_id, question="cancel rate by region")
    expected = {g: int(d.cancelled[d.region == g].sum()) / int((d.region == g).sum()) for g in ("east", "north", "south")}
    if d.region.isna().any():  # records without a region are their own group, as in the cube (metrics.definitions)
        expected[NULL_LABEL] = int(d.cancelled[d.region.isna()].sum()) / int(d.region.isna().sum())
    assert {row["label"]: row["value"] for row in rate.json()["rows"]} == expected


def test_refusal_is_an_answer_without_a_number(client, auth, workspace_id):
    r = _post(client, auth, workspace_id=workspace_id, question="what's the weather in north?")
    assert r.status_code == 200
    body = r.json()
    assert not body["answered"] and body["rows"] == [] and body["query"] is None and len(body["suggestions"]) == 3


def test_bad_bodies_and_contexts_are_422(client, auth, workspace_id, tmp_path):
    evil = {"measure": {"kind": "count"}, "group_by": "region); DROP TABLE records; --"}
    r = _post(client, auth, workspace_id=workspace_id, question="and yesterday?", context=evil)
    assert r.status_code == 422 and r.json()["detail"].startswith("context: group_by")
    r = _post(client, auth, workspace_id=workspace_id, question="q", context={"measure": {"kind": "count"}, "sql": "x"})
    assert r.status_code == 422
    assert _post(client, auth, workspace_id=workspace_id, reconciliation_dir=str(tmp_path), question="q").status_code == 422
    assert _post(client, auth, question="how many orders").status_code == 422
    assert _post(client, auth, workspace_id=workspace_id, question="x" * 501).status_code == 422
    assert _post(client, auth, workspace_id=999, question="how many orders").status_code == 404
    r = _post(client, auth, reconciliation_dir="/etc", question="how many records are missing")
    assert r.status_code == 422 and "outside the folders" in r.json()["detail"]


def test_edge_contexts_are_answers_or_422_never_500(client, auth, workspace_id):
    def ctx(start, end):
        return {"measure": {"kind": "count"}, "time": {"start": start, "end": end, "label": "x"}}

    cases = [
        ("and the month before?", ctx("0001-01-01T00:00:00", "0001-02-01T00:00:00"), 200),
        ("and the week before?", ctx("2026-01-02T00:00:00+05:00", "2026-01-03T00:00:00+05:00"), 200),
        ("\x00\x00 how many \x00", None, 200),
        ("and yesterday?", ctx("2026-01-03T00:00:00", "2026-01-02T00:00:00"), 422),
        ("how many orders", None, 200),
    ]
    for question, context, status in cases:
        r = _post(client, auth, workspace_id=workspace_id, question=question, context=context)
        assert r.status_code == status, (question, r.text)
    aware = _post(client, auth, workspace_id=workspace_id, question="and region north?",
                  context=ctx("2026-01-02T05:00:00+05:00", "2026-01-03T05:00:00+05:00")).json()
    assert aware["intent"]["time"]["start"] == "2026-01-02T00:00:00"


def test_a_workspace_registered_by_the_cli_is_asked_where_it_lies(client, auth, sessions, tmp_path_factory):
    """`cxw job detect` registers workspaces outside the server's upload folders; asking about one by id
    reads it where it was registered, as the series and what-if routes do (the folder guard is for paths
    a request names)."""
    from backend.actors import Actor
    from backend.crud import workspaces
    from tests.conftest import write_workspace

    path = write_workspace(tmp_path_factory.mktemp("outside") / "ws")
    with sessions() as session:
        ws = workspaces.find_or_register(session, path, Actor("cli", "cli"))
        session.commit()
        wid = ws.id
    r = _post(client, auth, workspace_id=wid, question="how many orders were cancelled")
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["value"] == int(tiny_records().cancelled.sum())
