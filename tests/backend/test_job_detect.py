"""The detection job: idempotent re-runs, only new data, webhooks from the outbox with retries and backoff
(nothing lost while a hook is down, nothing sent twice), failures recorded, the CLI."""

import json
import sys
import threading
import types

import pandas as pd
import pytest

from backend.actors import JOB_ACTOR
from backend.errors import NotImplementedYet
from backend.jobs.detect import run_detect
from backend.models import Action, AuditEntry, Incident, OutboxMessage, Run
from backend.webhooks import deliver_due
from tests.backend.conftest import fixture_incidents
from tests.backend.receiver import WebhookReceiver
from tests.conftest import tiny_records


def one_incident_pipeline(calls=None):
    def run(workspace, *, since=None, cube_dir=None, out_dir=None):
        if calls is not None:
            calls.append(since)
        return fixture_incidents()[:1]
    return run


def count(sessions, model, **filters):
    with sessions() as s:
        return s.query(model).filter_by(**filters).count()


def test_two_runs_one_incident_one_post(sessions, settings, workspace_path):
    with WebhookReceiver() as hook:
        first = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], pipeline=one_incident_pipeline())
        second = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], full=True,
                            pipeline=one_incident_pipeline())
        third = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], pipeline=one_incident_pipeline())
    assert first.run["status"] == "succeeded" and first.run["incidents_new"] == 1 and first.queued == 1
    assert second.run["status"] == "succeeded" and second.run["incidents_updated"] == 1 and second.queued == 0
    assert third.run["status"] == "skipped"  # no records after the watermark
    assert count(sessions, Incident) == 1
    assert len(hook.received) == 1 and hook.attempts == 1
    body = hook.received[0]
    assert body["event"] == "incident.new" and body["incident"]["metric"] == "on_time_rate"
    assert body["workspace"]["name"] == "tiny"
    assert count(sessions, Action) == 2 and count(sessions, Action, source="job") == 2


def test_hook_that_fails_twice_then_accepts_gets_exactly_one(sessions, settings, workspace_path):
    with WebhookReceiver(fail_first=2) as hook:
        result = run_detect(sessions, settings, workspace_path, webhooks=[hook.url], pipeline=one_incident_pipeline())
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], full=True, pipeline=one_incident_pipeline())
    assert result.delivery.delivered == 1 and result.delivery.failed == 2 and result.delivery.pending == 0
    assert hook.attempts == 3 and len(hook.received) == 1
    assert len(set(hook.keys)) == 1 and hook.keys[0].startswith("cxw-outbox-")
    with sessions() as s:
        msg = s.query(OutboxMessage).one()
        assert msg.status == "delivered" and msg.attempts == 3 and msg.last_error is None


def test_hook_down_loses_nothing_and_the_next_run_delivers(sessions, settings, workspace_path):
    quick = settings.model_copy(update={"webhook_retry_budget_seconds": 0.2})
    with WebhookReceiver(fail_first=10_000) as down:
        url = down.url
        first = run_detect(sessions, quick, workspace_path, webhooks=[url], pipeline=one_incident_pipeline())
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
        second = run_detect(sessions, settings, workspace_path, pipeline=one_incident_pipeline())
        third = run_detect(sessions, settings, workspace_path, pipeline=one_incident_pipeline())
    assert second.run["status"] == "skipped"
    assert second.delivery.delivered == 1 and third.delivery.delivered == 0
    assert len(up.received) == 1 and up.received[0]["incident"]["metric"] == "on_time_rate"


def test_unreachable_hook_gives_up_after_max_attempts(sessions, settings, workspace_path):
    dead_end = settings.model_copy(update={"webhook_max_attempts": 2, "webhook_retry_budget_seconds": 2})
    with WebhookReceiver(fail_first=10_000) as hook:
        result = run_detect(sessions, dead_end, workspace_path, webhooks=[hook.url], pipeline=one_incident_pipeline())
    assert hook.attempts == 2 and result.delivery.pending == 0
    assert count(sessions, OutboxMessage, status="dead") == 1


def test_slack_hooks_get_text(sessions, settings, workspace_path):
    with WebhookReceiver() as hook:
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], fmt="slack",
                   pipeline=lambda *a, **k: fixture_incidents())
    texts = sorted((m["text"] for m in hook.received), key=lambda t: "on_time_rate" in t)
    assert set(hook.received[0]) == {"text"}
    assert texts[1].startswith("[HIGH] tiny: on_time_rate went down -18.7% in * (2026-01-02T10:00:00")
    assert "Likely cause: policy_change: policy_a (93% confidence)." in texts[1]
    from backend.webhooks import message_format

    assert message_format("https://hooks.slack.com/services/T/B/X") == "slack"
    assert message_format("https://example.test/hook") == "json"


def test_concurrent_senders_do_not_double_send(sessions, settings, workspace_path):
    with WebhookReceiver() as hook:
        run_detect(sessions, settings, workspace_path, webhooks=[hook.url], deliver=False,
                   pipeline=lambda *a, **k: fixture_incidents())
        threads = [threading.Thread(target=deliver_due, args=(sessions, settings)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert hook.attempts == 2 and len(hook.received) == 2


def test_only_new_data_is_analysed(sessions, settings, workspace_path):
    calls = []
    run_detect(sessions, settings, workspace_path, pipeline=one_incident_pipeline(calls))
    assert calls == [None]
    more = tiny_records(100, seed=9)
    more["created_at"] = more["created_at"] + pd.Timedelta(days=3)
    more.to_parquet(workspace_path.parent / "orders" / "part-1.parquet", index=False)
    result = run_detect(sessions, settings, workspace_path, pipeline=one_incident_pipeline(calls))
    assert result.run["status"] == "succeeded"
    assert calls[1] is not None and str(calls[1]).startswith("2026-01-03 23:")
    assert result.run["watermark"] > result.run["since"]
    with sessions() as s:
        assert [r.status for r in s.query(Run).order_by(Run.id)] == ["succeeded", "succeeded"]


def test_pipeline_failure_is_recorded(sessions, settings, workspace_path):
    def broken(*args, **kwargs):
        raise RuntimeError("detector exploded")

    with pytest.raises(RuntimeError):
        run_detect(sessions, settings, workspace_path, pipeline=broken)
    with sessions() as s:
        run = s.query(Run).one()
        assert run.status == "failed" and "detector exploded" in run.error
        assert s.query(AuditEntry).filter_by(action="run.failed").count() == 1
    # a failed run is not a watermark: the next run analyses everything again
    calls = []
    run_detect(sessions, settings, workspace_path, pipeline=one_incident_pipeline(calls))
    assert calls == [None]


def test_production_pipeline_without_rca_is_a_clear_501(sessions, settings, workspace_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rca", types.ModuleType("rca"))
    with pytest.raises(NotImplementedYet, match="rca.analyze"):
        run_detect(sessions, settings, workspace_path)


def test_production_pipeline_calls_rca_analyze(sessions, settings, workspace_path, monkeypatch):
    seen = {}

    def analyze(workspace, out=None, since=None):
        seen.update(workspace=workspace, out=out, since=since)
        (out / "incidents.json").write_text(json.dumps({"incidents": fixture_incidents()}))
        return None  # written to out/incidents.json instead

    module = types.ModuleType("rca")
    module.analyze = analyze
    monkeypatch.setitem(sys.modules, "rca", module)
    result = run_detect(sessions, settings, workspace_path)
    assert result.run["incidents_new"] == 2 and seen["workspace"] == workspace_path.resolve()
    assert seen["out"].name == str(result.run["id"])


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
        monkeypatch.setattr("backend.pipeline.analyze_workspace", lambda *a, **k: fixture_incidents())
        assert main(["job", "detect", "1", "--post", hook.url, "--full"]) == 0
    err = capsys.readouterr().err
    assert "2 new, 0 updated" in err and "0 new, 2 updated" in err
    assert "webhooks: 2 delivered, 1 failed attempt(s), 0 pending" in err
    assert len(hook.received) == 2
    assert main(["job", "detect", str(workspace_path), "--format", "xml"]) == 2
    assert main(["job", "detect", str(tmp_path / "nope")]) == 2
    assert "workspace file not found" in capsys.readouterr().err
    assert main(["job", "deliver", "--budget", "0"]) == 0
