"""The detection job on the real analysis path: generated orders → `cxw job detect` → stored incidents with
recommendations and plans, each posted once; a re-run over the same data does nothing; a run after one
more day of orders scans only that day (against the baseline before it).

One story, run once for the module on SQLite (the storage itself is tested on both databases elsewhere):
60,000 orders over 29 days with the batching-policy regression; the 29th day is held back and added
as a new file before the third run. The outcome model draws the fewest bootstrap replicates a workspace may
set (5; default 20): these tests check what the job stores, posts and keeps, not how wide an impact's
interval is (that is test_impact's); at 20 the replicates were about half of each analysis's time
(recommendations 10.1 s of 19.6 s in `cxw analyze` of all 29 days, 3.0 s at 5).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from fastapi.testclient import TestClient

from backend.actors import Actor
from backend.api.main import create_app
from backend.cli import main
from backend.crud import tokens
from backend.settings import Settings
from data.synthetic.cx import generate_cx
from tests.backend.receiver import WebhookReceiver

DAY_29 = datetime(2026, 1, 29)


def _hold_back_last_day(folder: Path) -> Path:
    """Rewrite ``orders/`` without the 29th day; return that day's orders as a separate Parquet file."""
    orders = folder / "orders"
    held = folder / "day-29.parquet"
    con = duckdb.connect()
    source = f"read_parquet('{orders}/*.parquet')"
    con.execute(f"COPY (SELECT * FROM {source} WHERE created_at >= ?) TO '{held}' (FORMAT parquet)", [DAY_29])
    con.execute(f"COPY (SELECT * FROM {source} WHERE created_at < ?) TO '{folder}/first-28.parquet' "
                "(FORMAT parquet)", [DAY_29])
    con.close()
    shutil.rmtree(orders)
    orders.mkdir()
    (folder / "first-28.parquet").rename(orders / "part-0000.parquet")
    return held


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("job-real-path")
    folder = root / "ws"
    generate_cx(60_000, 29, 7, "batching_policy", folder)
    held = _hold_back_last_day(folder)
    workspace = folder / "workspace.yaml"
    spec = yaml.safe_load(workspace.read_text())
    workspace.write_text(yaml.safe_dump({**spec, "recommendations": {"model": {"bootstrap": 5}}}, sort_keys=False))
    assert main(["analyze", str(workspace), "--out", str(root / "analysis")]) == 0
    analysis = json.loads((root / "analysis" / "incidents.json").read_text())

    data_dir = root / "service"
    env = {"CXW_DATABASE_URL": f"sqlite:///{root / 'cxw.db'}", "CXW_DATA_DIR": str(data_dir),
           "CXW_WEBHOOK_BACKOFF_SECONDS": "0.05"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        with WebhookReceiver() as hook:
            assert main(["job", "detect", str(workspace), "--post", hook.url]) == 0
            first_posts = list(hook.received)
            assert main(["job", "detect", str(workspace), "--post", hook.url]) == 0
            second_posts = hook.received[len(first_posts):]
            shutil.copy(held, folder / "orders" / "part-0001.parquet")
            assert main(["job", "detect", str(workspace), "--post", hook.url]) == 0
            third_posts = hook.received[len(first_posts) + len(second_posts):]
        app = create_app(Settings())
        with TestClient(app) as client:
            with app.state.sessions.begin() as session:
                _, secret = tokens.create(session, app.state.settings.secret_key, "engineer", "t",
                                          Actor("test", "cli"))
            headers = {"Authorization": f"Bearer {secret}"}
            runs = client.get("/api/workspaces/1/runs", headers=headers).json()["data"][::-1]
            listing = client.get("/api/incidents", params={"limit": 200}, headers=headers).json()["data"]
            details = [client.get(f"/api/incidents/{i['id']}", headers=headers).json() for i in listing]
            proposed = client.get("/api/actions", params={"limit": 200}, headers=headers).json()["data"]
            whatif = _ui_whatif(client, headers, details)
        app.state.engine.dispose()
    job_doc = json.loads((data_dir / "runs" / "1" / "incidents.json").read_text())
    return {"analysis": analysis, "job": job_doc, "runs": runs, "details": details, "proposed": proposed, "posts":
            (first_posts, second_posts, third_posts), "cube": data_dir / "cubes" / "1" / "cube.parquet",
            "whatif": whatif, "workspace": workspace, "whatif_store": data_dir / "whatif" / "1"}


def _ui_whatif(client, headers, details) -> tuple[str, dict]:
    """The what-if the UI runs first on the top incident (its top recommendation's driver, scope and the
    default window), as a background run polled to its end: (scope, the ended run)."""
    top = next(d for d in details if d["recommendations"])
    scope = ";".join(top["recommendations"][0]["scope"]) or "*"
    body = {"changes": [{"feature": "batching_threshold", "op": "set", "value": 2}], "scope": scope, "window_days": 7}
    run = client.post(f"/api/incidents/{top['id']}/whatif/runs", json=body, headers=headers).json()
    deadline = time.monotonic() + 120
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        run = client.get(f"/api/incidents/{top['id']}/whatif/runs/{run['id']}", headers=headers).json()
    return scope, run


def assert_same(a, b, path: str = "") -> None:
    """Equal JSON, numbers to 1e-9 relative: DuckDB's parallel sums add in no fixed order, so two runs over
    the same records differ in the last bits of a float."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a.keys() ^ b.keys())}"
        for key in a:
            assert_same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-300), f"{path}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def test_the_job_stores_what_cxw_analyze_writes(story):
    timings = "timings_seconds"
    assert_same({k: v for k, v in story["job"].items() if k != timings},
                {k: v for k, v in story["analysis"].items() if k != timings})
    entries = story["analysis"]["incidents"]
    assert entries, "the injected batching-policy regression is found"
    by_id = {d["external_id"]: d for d in story["details"]}
    assert set(by_id) == {e["id"] for e in entries}
    for entry in entries:
        detail = by_id[entry["id"]]
        for key in ("recommendations", "experiment_plan", "recommendation_status", "next_steps"):
            assert_same(detail[key], entry[key], f"{entry['id']}/{key}")
    recommended = [e for e in entries if e["recommendation_status"] == "recommended"]
    assert recommended, "a conclusive incident gets recommendations"
    for entry in recommended:
        assert entry["recommendations"] and entry["experiment_plan"]["incident_id"] == entry["id"]


def test_each_new_incident_is_posted_once_and_a_rerun_posts_nothing(story):
    first, second, third = story["posts"]
    runs = story["runs"]
    assert [r["status"] for r in runs] == ["succeeded", "skipped", "succeeded"]
    assert runs[0]["incidents_new"] == len(story["analysis"]["incidents"]) == len(first)
    assert sorted(p["incident"]["id"] for p in first) == sorted(d["id"] for d in story["details"]
                                                                 if d["run_id"] == runs[0]["id"])
    assert second == [] and runs[1]["incidents_new"] == runs[1]["incidents_updated"] == 0
    assert runs[1]["scanned"] is None
    assert len(third) == runs[2]["incidents_new"]


def test_one_cause_is_one_incident_one_post_and_one_proposal(story):
    """The batching change moves several metrics: one incident lists them as symptoms, stored under its
    cause, posted once; its revert is proposed for approval once, not once per metric."""
    first = story["posts"][0]
    batching = [d for d in story["details"] if d["cause_key"] == "change:batching_threshold_4"]
    assert len(batching) == 1
    incident = batching[0]
    assert len(incident["symptoms"]) >= 2 and incident["symptom_metrics"] == [s["metric"] for s in incident["symptoms"]]
    assert incident["dedup_key"].startswith("1:change:batching_threshold_4:")
    posted = [p for p in first if p["incident"]["id"] == incident["id"]]
    assert len(posted) == 1 and posted[0]["incident"]["symptom_metrics"] == incident["symptom_metrics"]
    reverts = [a for a in story["proposed"] if a["incident_id"] == incident["id"] and "batching_threshold" in a["title"]]
    assert len(reverts) == 1
    assert len({a["title"] for a in story["proposed"]}) == len(story["proposed"])


def test_a_run_after_one_more_day_scans_only_that_day(story):
    full, _, incremental = story["runs"]
    assert full["since"] is None
    assert full["scanned"]["records_from"] is None
    assert datetime.fromisoformat(full["scanned"]["window_start"]) == datetime(2026, 1, 15)
    assert datetime.fromisoformat(full["scanned"]["end"]) == DAY_29
    scanned = incremental["scanned"]
    assert datetime.fromisoformat(incremental["since"]) < DAY_29
    assert datetime.fromisoformat(scanned["window_start"]) == DAY_29
    assert datetime.fromisoformat(scanned["end"]) == DAY_29 + timedelta(days=1)
    assert datetime.fromisoformat(scanned["baseline_start"]) == DAY_29 - timedelta(days=14)
    assert datetime.fromisoformat(scanned["records_from"]) == DAY_29 - timedelta(days=15)
    # only the new day was aggregated from records; its buckets were spliced into the stored cube
    assert datetime.fromisoformat(scanned["cube_from"]) == DAY_29 and full["scanned"]["cube_from"] is None
    # the workspace's cube keeps every bucket: the 28 days of the first run and the new one, each hour with orders
    con = duckdb.connect()
    lo, hi, buckets = con.execute("SELECT min(ts), max(ts), count(DISTINCT ts) FROM read_parquet(?)",
                                  [str(story["cube"])]).fetchone()
    hours = con.execute("SELECT count(DISTINCT date_trunc('hour', created_at)) FROM read_parquet(?)",
                        [str(story["workspace"].parent / "orders" / "*.parquet")]).fetchone()[0]
    assert (lo, hi, buckets) == (datetime(2026, 1, 1), DAY_29 + timedelta(hours=23), hours)
    assert hours > 28 * 24


def test_incidents_json_and_the_api_detail_agree_field_by_field(story):
    """The API's incident detail is the incidents.json entry, key for key: the entry's id is the detail's
    ``external_id``, times are the same instants; the detail adds only the service's own fields."""
    by_id = {d["external_id"]: d for d in story["details"]}
    service = {"workspace_id", "external_id", "status", "owner", "notes", "top_cause", "top_confidence",
               "symptom_metrics", "scope", "run_id", "dedup_key", "first_seen_at", "last_seen_at", "seen_count",
               "feedback"}
    for entry in story["job"]["incidents"]:
        detail = by_id[entry["id"]]
        assert set(detail) == set(entry) | service
        for key, value in entry.items():
            if key == "id":
                continue
            if key in ("start", "end"):
                assert datetime.fromisoformat(detail[key]) == datetime.fromisoformat(value), key
            else:
                assert_same(detail[key], value, f"{entry['id']}/{key}")


def test_the_uis_first_whatif_after_the_job_answers_from_the_model_the_job_kept(story):
    """The third run (one new day) kept the incident's what-if model of the new data; the UI's what-if run
    answers from it."""
    from pydantic import TypeAdapter

    from backend.whatif import WhatIfStore, whatif_workspace
    from recommendations import DriverChange, WhatIfResult

    scope, run = story["whatif"]
    assert run["status"] == "succeeded", run
    stages: list[str] = []
    again = whatif_workspace(story["workspace"], [DriverChange("batching_threshold", "set", 2)], scope, cache=None,
                             store=WhatIfStore(story["whatif_store"]), progress=lambda s, done=None, rows=None:
                             stages.append(s))
    assert stages[1] == "loading the outcome model the analysis kept" and not any("fitting" in s for s in stages)
    assert run["result"] == json.loads(TypeAdapter(WhatIfResult).dump_json(again))  # (a kept model answers as a refit does: test_whatif_cache.py)
