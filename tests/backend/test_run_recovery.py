"""Runs whose process died: a really killed job is detected and marked failed by the next run, which
succeeds; dead runs are listed and cleared from the CLI and the API; two first runs at once give "busy"."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from backend.actors import JOB_ACTOR, Actor
from backend.cli import main
from backend.crud import runs, workspaces
from backend.errors import Conflict
from backend.jobs import detect as detect_job
from backend.jobs.detect import run_detect
from backend.models import AuditEntry, Run, Workspace, utcnow
from data.synthetic.cx import generate_cx

FIXTURE_FILE = Path(__file__).parent / "fixtures" / "incidents.json"  # stored as given: no analysis needed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cx_workspace(tmp_path_factory) -> Path:
    """A generated CX workspace (4 weeks, one injected cause) that the real pipeline needs seconds for."""
    out = tmp_path_factory.mktemp("cx") / "ws"
    generate_cx(8000, 28, 3, "merchant_prep", out)
    return out / "workspace.yaml"


def _env(settings) -> dict[str, str]:
    return {**os.environ, "CXW_DATABASE_URL": settings.resolved_database_url, "CXW_DATA_DIR": str(settings.data_dir),
            "PYTHONPATH": str(ROOT)}


def _running_run(sessions) -> Run | None:
    with sessions() as s:
        return s.query(Run).filter_by(status="running").one_or_none()


def test_killed_job_is_marked_failed_and_the_rerun_succeeds(sessions, settings, cx_workspace):
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "job", "detect", str(cx_workspace)],
                            env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _running_run(sessions) is None:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the job never started its run"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    killed = _running_run(sessions)
    assert killed is not None and killed.pid == proc.pid and killed.host == runs.this_host()  # killed mid-way

    result = run_detect(sessions, settings, cx_workspace)  # the real pipeline, in this process
    assert result.run["status"] == "succeeded" and result.run["watermark"] is not None
    with sessions() as s:
        dead = s.get(Run, killed.id)
        assert dead.status == "failed" and f"its process {proc.pid} on this host is gone" in dead.error
        assert s.query(AuditEntry).filter_by(action="run.failed", entity_id=str(killed.id)).count() == 1
    leftovers = [p for p in settings.data_dir.rglob(".*") if p.name not in (".", "..")]
    assert leftovers == []  # the kill left no temp file or staging folder behind once the next run went


def _open_run(sessions, path, **fields) -> int:
    """A run row as another process would have left it."""
    with sessions.begin() as s:
        ws = workspaces.find_or_register(s, path, JOB_ACTOR)
        run = Run(workspace_id=ws.id, status="running", actor="job", detail={}, **fields)
        s.add(run)
        s.flush()
        return run.id


def test_a_silent_run_on_another_host_is_dead_after_the_stale_time(sessions, settings, workspace_path):
    old = utcnow() - runs.STALE_AFTER - timedelta(seconds=5)
    silent = _open_run(sessions, workspace_path, host="elsewhere pid:[1]", pid=4242, started_at=old, heartbeat_at=old)
    fresh = utcnow()
    result = run_detect(sessions, settings, workspace_path, incidents_file=FIXTURE_FILE)
    assert result.run["status"] == "succeeded"
    with sessions() as s:
        assert "no heartbeat for 5 min (process 4242 on elsewhere" in s.get(Run, silent).error
    busy = _open_run(sessions, workspace_path, host="elsewhere pid:[1]", pid=4242, started_at=fresh,
                     heartbeat_at=utcnow())
    with pytest.raises(Conflict, match=f"busy: run {busy} is still running"):
        run_detect(sessions, settings, workspace_path, incidents_file=FIXTURE_FILE)


def test_the_heartbeat_is_renewed_while_the_job_works(sessions, settings, workspace_path):
    run_id = _open_run(sessions, workspace_path, host=runs.this_host(), pid=os.getpid(),
                       heartbeat_at=utcnow() - timedelta(minutes=1))
    with sessions() as s:
        before = s.get(Run, run_id).heartbeat_at
    beat = runs.Heartbeat(sessions, run_id, every=0.05).start()
    time.sleep(0.5)
    beat.stop()
    with sessions() as s:
        assert s.get(Run, run_id).heartbeat_at > before + timedelta(seconds=30)


def test_cli_lists_and_clears_a_dead_run(sessions, settings, workspace_path, monkeypatch, capsys):
    monkeypatch.setenv("CXW_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CXW_DATA_DIR", str(settings.data_dir))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = _open_run(sessions, workspace_path, host=runs.this_host(), pid=gone.pid, heartbeat_at=utcnow())
    assert main(["runs", "list"]) == 0
    assert f"running (dead: its process {gone.pid} on this host is gone)" in capsys.readouterr().out
    assert main(["runs", "clear", str(dead)]) == 0
    assert "marked failed: the run died" in capsys.readouterr().err
    assert main(["runs", "clear", str(dead)]) == 2
    assert f"run {dead} is not running (it failed)" in capsys.readouterr().err
    alive = _open_run(sessions, workspace_path, host=runs.this_host(), pid=os.getpid(), heartbeat_at=utcnow())
    assert main(["runs", "clear", str(alive)]) == 2
    assert "looks alive" in capsys.readouterr().err
    assert main(["runs", "clear", str(alive), "--force"]) == 0
    with sessions() as s:
        assert s.get(Run, alive).status == "failed" and "cleared by cli:" in s.get(Run, alive).error


def test_api_clears_a_run(client, auth, sessions, workspace_path):
    other = _open_run(sessions, workspace_path, host="elsewhere pid:[1]", pid=1, heartbeat_at=utcnow())
    r = client.post(f"/api/runs/{other}/clear", headers=auth("engineer"))
    assert r.status_code == 409 and "looks alive" in r.json()["detail"]
    r = client.post(f"/api/runs/{other}/clear", params={"force": True}, headers=auth("engineer"))
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert r.json()["error"] == "cleared by engineer-token while marked running"
    assert client.post(f"/api/runs/{other}/clear", headers=auth("engineer")).status_code == 409
    assert client.post("/api/runs/999/clear", headers=auth("engineer")).status_code == 404


def test_a_run_cleared_while_working_stores_nothing(sessions, settings, workspace_path, monkeypatch):
    load = detect_job._load_incidents_file

    def cleared_meanwhile(path):  # the run's work (here: reading its incidents) overlaps a clear
        with sessions.begin() as s:
            run = s.query(Run).filter_by(status="running").one()
            runs.clear(s, run.id, Actor("someone", "cli"), force=True)
        return load(path)

    monkeypatch.setattr(detect_job, "_load_incidents_file", cleared_meanwhile)

    with pytest.raises(Conflict, match="was closed .* before it finished; its results are not stored"):
        run_detect(sessions, settings, workspace_path, incidents_file=FIXTURE_FILE)
    with sessions() as s:
        assert s.query(Run).one().error == "cleared by someone while marked running"
        assert s.query(Workspace).count() == 1 and not s.query(AuditEntry).filter_by(action="incident.create").count()


def test_two_first_runs_at_once_one_says_busy(sessions, settings, workspace_path, monkeypatch):
    """Both register the new workspace path at the same moment; the loser must say busy, not 'already
    registered' (its pipeline blocks until the other thread has its answer)."""
    start, answered, outcomes = threading.Barrier(2), threading.Event(), []

    load = detect_job._load_incidents_file

    def slow_load(path):
        answered.wait(30)
        return load(path)

    monkeypatch.setattr(detect_job, "_load_incidents_file", slow_load)

    def first_run():
        start.wait()
        try:
            outcomes.append(run_detect(sessions, settings, workspace_path, incidents_file=FIXTURE_FILE).run["status"])
        except Conflict as err:
            outcomes.append(str(err))
        finally:
            answered.set()

    threads = [threading.Thread(target=first_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 2 and "succeeded" in outcomes, outcomes
    loser = next(o for o in outcomes if o != "succeeded")
    assert "is busy: run" in loser and "already registered" not in loser
    with sessions() as s:
        assert s.query(Workspace).count() == 1
