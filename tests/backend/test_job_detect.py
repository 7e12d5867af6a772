"""The detection job's storage and delivery: idempotent re-runs, webhooks from the outbox with retries and
backoff (nothing lost while a hook is down, nothing sent twice), failures recorded, the CLI.

Incidents come from an incidents.json (``--incidents``, the format `cxw analyze` writes); the job on the
real analysis path, end to end, is `tests/backend/test_job_real_path.py`.
"""

import json
import threading

import pytest

from backend.jobs.detect import run_detect
from backend.models import Action, AuditEntry, Incident, OutboxMessage, Run
from backend.webhooks import build_body, deliver_due
from tests.backend.conftest import fixture_incidents
from tests.backend.receiver import WebhookReceiver


@pytest.fixture
def one_incident(tmp_path):
    path = tmp_path / "one" / "incidents.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"incidents": fixture_incidents()[:1]}))
    return path


@pytest.fixture
def two_incidents(tmp_path):
    path = tmp_path / "two" / "incidents.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"incidents": fixture_incidents()}))
    return path


def count(sessions, model, **filters):
    with sessions() as s:
        return s.query(model).filter_by(**filters).count()


def test_two_runs_one_incident_one_post(sessions, settings, workspace_path, one_incident):
    with WebhookReceiver() as hook:
        first = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], incidents_file=one_incident)
        second = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], full=True,
                            incidents_file=one_incident)
        third = run_detect(sessions, settings, workspace_path, webhooks=[hook.url])
    assert first.run["status"] == "succeeded" and first.run["incidents_new"] == 1 and first.queued == 1
    assert second.run["status"] == "succeeded" and second.run["incidents_updated"] == 1 and second.queued == 0
    assert third.run["status"] == "skipped"  # no records after the watermark
    assert count(sessions, Incident) == 1
    assert len(hook.received) == 1 and hook.attempts == 1
    body = hook.received[0]
    assert body["event"] == "incident.new" and body["incident"]["metric"] == "on_time_rate"
    assert body["workspace"]["name"] == "tiny"
    assert count(sessions, Action) == 2 and count(sessions, Action, source="job") == 2


def test_hook_that_fails_twice_then_accepts_gets_exactly_one(sessions, settings, workspace_path, one_incident):
    with WebhookReceiver(fail_first=2) as hook:
        result = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], incidents_file=one_incident)
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], full=True, incidents_file=one_incident)
    assert result.delivery.delivered == 1 and result.delivery.failed == 2 and result.delivery.pending == 0
    assert hook.attempts == 3 and len(hook.received) == 1
    assert len(set(hook.keys)) == 1 and hook.keys[0].startswith("cxw-outbox-")
    with sessions() as s:
        msg = s.query(OutboxMessage).one()
        assert msg.status == "delivered" and msg.attempts == 3 and msg.last_error is None


def test_hook_down_loses_nothing_and_the_next_run_delivers(sessions, settings, workspace_path, one_incident):
    quick = settings.model_copy(update={"webhook_retry_budget_seconds": 0.2})
    with WebhookReceiver(fail_first=10_000) as down:
        url = down.url
        first = run_detect(sessions, quick, workspace_path, webhooks=[url], incidents_file=one_incident)
    assert first.delivery.delivered == 0 and first.delivery.pending == 1
    with sessions() as s:
        msg = s.query(OutboxMessage).one()
        assert msg.status == "pending" and msg.attempts >= 1 and "503" in msg.last_error
    # The hook comes back on the same port; the next run (no new data: skipped) delivers what is pending.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with WebhookReceiver() as up:
        up.server.server_close()
        from http.server import ThreadingHTTPServer

        up.server = ThreadingHTTPServer(("127.0.0.1", port), up.server.RequestHandlerClass)
        up.thread = threading.Thread(target=up.server.serve_forever, daemon=True)
        up.thread.start()
        second = run_detect(sessions, settings, workspace_path)
        third = run_detect(sessions, settings, workspace_path)
    assert second.run["status"] == "skipped"
    assert second.delivery.delivered == 1 and third.delivery.delivered == 0
    assert len(up.received) == 1 and up.received[0]["incident"]["metric"] == "on_time_rate"


def test_unreachable_hook_gives_up_after_max_attempts(sessions, settings, workspace_path, one_incident):
    dead_end = settings.model_copy(update={"webhook_max_attempts": 2, "webhook_retry_budget_seconds": 2})
    with WebhookReceiver(fail_first=10_000) as hook:
        result = run_detect(sessions, dead_end, workspace_path, webhooks=[hook.url], incidents_file=one_incident)
    assert hook.attempts == 2 and result.delivery.pending == 0
    assert count(sessions, OutboxMessage, status="dead") == 1


def test_slack_hooks_get_text(sessions, settings, workspace_path, two_incidents):
    with WebhookReceiver() as hook:
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], fmt="slack",
                   incidents_file=two_incidents)
    texts = sorted((m["text"] for m in hook.received), key=lambda t: "on_time_rate" in t)
    assert set(hook.received[0]) == {"text"}
    assert texts[1].startswith("[HIGH] tiny: on_time_rate went down -18.7% in * (2026-01-02T10:00:00")
    assert "Likely cause: policy_change: policy_a (93% confidence)." in texts[1]
    from backend.webhooks import message_format

    assert message_format("https://hooks.slack.com/services/T/B/X") == "slack"
    assert message_format("https://example.test/hook") == "json"


def test_concurrent_senders_do_not_double_send(sessions, settings, workspace_path, two_incidents):
    with WebhookReceiver() as hook:
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], deliver=False,
                   incidents_file=two_incidents)
        threads = [threading.Thread(target=deliver_due, args=(sessions, settings)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert hook.attempts == 2 and len(hook.received) == 2


def test_a_failed_analysis_is_recorded_and_is_not_a_watermark(sessions, settings, tmp_path, one_incident):
    from data.errors import UserError
    from tests.conftest import write_workspace

    workspace_path = write_workspace(tmp_path / "default")
    # three days of records cannot hold the default 14-day baseline: the real analysis refuses, clearly
    with pytest.raises(UserError, match="baseline_days"):
        run_detect(sessions, settings, workspace_path)
    with sessions() as s:
        run = s.query(Run).one()
        assert run.status == "failed" and "baseline_days" in run.error
        assert s.query(AuditEntry).filter_by(action="run.failed").count() == 1
    # a failed run is not a watermark: the next run analyses everything again
    result = run_detect(sessions, settings, workspace_path, incidents_file=one_incident)
    assert result.run["since"] is None and result.run["status"] == "succeeded"


def test_cli_job_detect_posts_once(settings, workspace_path, monkeypatch, tmp_path, capsys):
    from backend.cli import main

    monkeypatch.setenv("CXW_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CXW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CXW_WEBHOOK_BACKOFF_SECONDS", "0.05")
    incidents_file = tmp_path / "incidents.json"
    incidents_file.write_text(json.dumps({"incidents": fixture_incidents()}))
    with WebhookReceiver(fail_first=1) as hook:
        assert main(["job", "detect", str(workspace_path), "--post", hook.url, "--incidents",
                     str(incidents_file)]) == 0
        assert main(["job", "detect", str(workspace_path), "--post", hook.url, "--incidents",
                     str(incidents_file)]) == 0
        assert main(["job", "detect", "1", "--post", hook.url, "--full", "--incidents", str(incidents_file)]) == 0
    err = capsys.readouterr().err
    assert "2 new, 0 updated" in err and "0 new, 2 updated" in err
    assert "webhooks: 2 delivered, 1 failed attempt(s), 0 pending" in err
    assert len(hook.received) == 2
    assert main(["job", "detect", str(workspace_path), "--format", "xml"]) == 2
    assert main(["job", "detect", str(tmp_path / "nope")]) == 2
    assert "workspace file not found" in capsys.readouterr().err
    stale = fixture_incidents()[:1]
    stale[0]["notes"] = ["written by an older cxw analyze"]
    incidents_file.write_text(json.dumps({"incidents": stale}))
    assert main(["job", "detect", str(workspace_path), "--incidents", str(incidents_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"{incidents_file}: incident 1: notes: Extra inputs are not permitted"), err
    assert main(["job", "deliver", "--budget", "0"]) == 0


def test_new_buckets_go_into_the_stored_cube_only_when_it_was_built_for_the_same_definition(sessions, settings,
                                                                                           tmp_path):
    import pandas as pd
    import yaml

    from tests.conftest import tiny_records, write_workspace

    path = write_workspace(tmp_path / "ws", detection={"baseline_days": 1})
    first = run_detect(sessions, settings, path)
    assert first.run["status"] == "succeeded" and first.run["scanned"]["cube_from"] is None

    def add_days(shift: int, seed: int) -> str:
        """Three more days of records, ``shift`` days after the first three; their first bucket."""
        more = tiny_records(200, seed=seed)
        more["created_at"] = more["created_at"] + pd.Timedelta(days=shift)
        more.to_parquet(path.parent / "orders" / f"part-{shift}.parquet", index=False)
        return more["created_at"].min().floor("h").isoformat()

    start = add_days(3, seed=5)
    second = run_detect(sessions, settings, path)
    assert second.run["scanned"]["cube_from"] == start == second.run["scanned"]["window_start"]
    # another metric expression: the stored cube was built with other SQL, so it takes no new buckets
    spec = yaml.safe_load(path.read_text())
    spec["metrics"][0]["expr"] = "delivered_at <= promised_at + INTERVAL 5 MINUTE"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    start = add_days(6, seed=6)
    third = run_detect(sessions, settings, path)
    assert third.run["scanned"]["cube_from"] is None and third.run["scanned"]["window_start"] == start
    # ... and is rebuilt whole with the new definition: every bucket, ready for the next run to splice into
    import duckdb

    from backend.analysis import cube_fingerprint
    from data.sources import open_workspace

    folder = settings.data_dir / "cubes" / str(first.run["workspace_id"])
    lo, hi = duckdb.connect().execute("SELECT min(ts), max(ts) FROM read_parquet(?)",
                                      [str(folder / "cube.parquet")]).fetchone()
    assert lo.date().isoformat() == "2026-01-01" and hi.date().isoformat() == "2026-01-09"
    ow = open_workspace(path)
    assert (folder / "cube.fingerprint").read_text() == cube_fingerprint(ow)
    ow.con.close()


def test_storing_an_incidents_file_leaves_the_workspace_with_its_cube(client, auth, sessions, settings,
                                                                     workspace_path, one_incident):
    """A first run that stores an incidents.json (what `make demo` does) leaves the cube the UI reads:
    series and drill-down answer 200, not 409; a re-run over the same records keeps that cube; records
    added later make the next stored file rebuild it over them."""
    import pandas as pd

    from tests.conftest import tiny_records

    first = run_detect(sessions, settings, workspace_path, incidents_file=one_incident)
    ws_id = first.run["workspace_id"]
    assert client.get(f"/api/workspaces/{ws_id}", headers=auth("pm")).json()["has_cube"] is True

    def total_records() -> int:
        r = client.get(f"/api/workspaces/{ws_id}/series", params={"metric": "on_time_rate"}, headers=auth("pm"))
        assert r.status_code == 200, r.text
        return sum(p["n"] for p in r.json()["points"])

    assert total_records() == 600  # every record of the tiny workspace, in the total's buckets
    incident = client.get("/api/incidents", headers=auth("pm")).json()["data"][0]
    r = client.get(f"/api/incidents/{incident['id']}/slices", params={"parent": "*"}, headers=auth("pm"))
    assert r.status_code == 200, r.text
    assert {d["slice"] for d in r.json()["data"]} >= {"region=north", "store=s1", "channel=web"}

    cube = settings.data_dir / "cubes" / str(ws_id) / "cube.parquet"
    built = cube.stat().st_mtime_ns
    run_detect(sessions, settings, workspace_path, full=True, incidents_file=one_incident)
    assert cube.stat().st_mtime_ns == built  # current: not rebuilt

    more = tiny_records(200, seed=5)
    more["created_at"] = more["created_at"] + pd.Timedelta(days=3)
    more.to_parquet(workspace_path.parent / "orders" / "part-1.parquet", index=False)
    run_detect(sessions, settings, workspace_path, incidents_file=one_incident)
    assert total_records() == 800


def test_a_slack_message_names_the_other_symptoms_and_the_scope():
    incident = {"severity": "critical", "metric": "on_time_rate", "direction": "down", "relative_change": -0.102,
                "symptom_metrics": ["on_time_rate", "cx_score", "support_rate"], "scope": "region=east;region=west",
                "slice": "basket_bucket=2-3&category=restaurant", "start": "2026-01-15T12:00:00",
                "end": "2026-01-29T00:00:00", "baseline": 0.911, "current": 0.818,
                "top_cause": "policy_change: batching_threshold_4", "top_confidence": 1.0}
    text = build_body("slack", incident, {"id": 1, "name": "CX"}, None)["text"]
    assert "(same cause: cx_score, support_rate moved too) in region=east;region=west" in text
    assert "0.911 -> 0.818" in text and "basket_bucket" not in text
