"""The service from the command line: tokens, the default-secret guard, db-upgrade, a real `cxw serve`."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from backend.api.main import create_app
from backend.cli import main
from backend.crud.tokens import hash_token
from backend.db import head_revision
from backend.models import ApiToken, AuditEntry
from backend.settings import DEFAULT_SECRET, Settings
from data.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch, settings):
    monkeypatch.setenv("CXW_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CXW_DATA_DIR", str(settings.data_dir))
    return settings


def test_token_create_prints_once_and_stores_a_hash(env, sessions, capsys):
    assert main(["token", "create", "--role", "pm", "--name", "alice"]) == 0
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("cxw_") and "shown once" in err and secret not in err
    with sessions() as s:
        token = s.query(ApiToken).filter_by(name="alice").one()
        assert token.role == "pm" and token.token_hash == hash_token(DEFAULT_SECRET, secret)
        entry = s.query(AuditEntry).filter_by(action="token.create").one()
        assert entry.actor.startswith("cli:") and entry.after["role"] == "pm"
    assert main(["token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "alice" in listed and secret not in listed
    assert main(["token", "revoke", str(token.id)]) == 0
    assert main(["token", "create", "--role", "admin"]) == 2
    assert "role 'admin'" in capsys.readouterr().err


def test_refuses_default_secret_outside_development(tmp_path, monkeypatch, capsys):
    with pytest.raises(UserError, match="CXW_SECRET_KEY"):
        create_app(Settings(env="production", data_dir=tmp_path))
    monkeypatch.setenv("CXW_ENV", "production")
    assert main(["serve"]) == 2
    assert "CXW_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("CXW_SECRET_KEY", "short")
    assert main(["serve"]) == 2
    app = create_app(Settings(env="production", secret_key="a-long-random-production-secret", data_dir=tmp_path))
    app.state.engine.dispose()


def test_db_upgrade_and_bad_database_url(env, monkeypatch, capsys):
    assert main(["db-upgrade"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().err
    monkeypatch.setenv("CXW_DATABASE_URL", "mysql://nobody@127.0.0.1/x")
    assert main(["db-upgrade"]) == 2
    assert "unsupported database" in capsys.readouterr().err


def test_bad_cron_is_refused():
    with pytest.raises(ValueError, match="cron"):
        Settings(schedule_cron="every tuesday")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _cxw_serve(settings, tmp_path, *args: str, **env: str):
    """A real `cxw serve` on a free port: yields (base URL, a list that receives its output at the end)."""
    port = _free_port()
    env = {**os.environ, "CXW_DATABASE_URL": settings.resolved_database_url, "CXW_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port), *args], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180  # a cold start of two workers on a loaded 2-core machine
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "no answer")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", output
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.append(proc.stdout.read().decode())


@pytest.mark.slow
def test_cxw_serve_runs_the_api_with_its_scheduler_and_no_access_log(settings, tmp_path):
    with _cxw_serve(settings, tmp_path, CXW_SCHEDULE_CRON="0 6 * * *") as (base, output):
        r = httpx.get(f"{base}/api/health", timeout=2)
        assert r.status_code == 200
        assert r.json()["scheduler"].startswith("cron '0 6 * * *', next run ")
        assert httpx.get(f"{base}/api/me", timeout=2).status_code == 401
    assert "Application startup complete" in output[0]  # logging at info, the default
    assert "GET /api/me" not in output[0]


@pytest.mark.slow
def test_cxw_serve_with_workers_and_an_access_log(settings, tmp_path):
    with _cxw_serve(settings, tmp_path, "--workers", "2", "--access-log") as (base, output):
        assert httpx.get(f"{base}/api/me", timeout=2).status_code == 401
        assert httpx.get(f"{base}/api/health", timeout=2).json()["scheduler"] is None  # no scheduler with workers
    assert '"GET /api/me HTTP/1.1" 401' in output[0]


def test_scheduler_tick_runs_every_workspace(settings, sessions, client, auth, tmp_path):
    from backend.models import Run
    from backend.scheduler import DetectionScheduler
    from tests.conftest import write_workspace

    path = write_workspace(tmp_path / "short", detection={"baseline_days": 1})
    assert client.post("/api/workspaces", json={"path": str(path)}, headers=auth("engineer")).status_code == 201
    scheduler = DetectionScheduler(sessions, settings.model_copy(update={"schedule_cron": "*/5 * * * *"}))
    scheduler.run_all()
    scheduler.run_all()
    scheduler.deliver()
    with sessions() as s:
        assert [r.status for r in s.query(Run).order_by(Run.id)] == ["succeeded", "skipped"]
    assert "next run" in scheduler.describe() or "not scheduled" in scheduler.describe()


def test_token_create_refuses_undeployable_secrets(env, monkeypatch, sessions, capsys):
    monkeypatch.setenv("CXW_ENV", "production")
    assert main(["token", "create", "--role", "pm"]) == 2
    assert "CXW_ENV=production but CXW_SECRET_KEY is the development default" in capsys.readouterr().err
    monkeypatch.setenv("CXW_SECRET_KEY", "0" * 40)
    assert main(["token", "create", "--role", "pm"]) == 2
    assert "CXW_SECRET_KEY is too predictable (0 bits" in capsys.readouterr().err
    monkeypatch.setenv("CXW_SECRET_KEY", "Vq3-xR8_tLp0Zk2WmN7yBc4HsJd9FgE1")
    assert main(["token", "create", "--role", "pm"]) == 0
    capsys.readouterr()
    for env_name in ("production", "development"):
        monkeypatch.setenv("CXW_ENV", env_name)
        monkeypatch.setenv("CXW_SECRET_KEY", " " * 16)
        assert main(["token", "create", "--role", "pm"]) == 2
        err = capsys.readouterr().err
        assert "CXW_SECRET_KEY is empty or only whitespace" in err and len(err.strip().splitlines()) == 1
    with sessions() as s:
        assert s.query(ApiToken).count() == 1
    with pytest.raises(UserError, match="only whitespace"):
        create_app(Settings(secret_key="\t \n", data_dir=env.data_dir))


@pytest.mark.parametrize("name", ["bot\u202egnp.exe", "a\u2066b", "line\nbreak", "zero\u200bwidth", "bell\x07"])
def test_token_names_refuse_control_and_bidi_characters(env, sessions, capsys, name):
    assert main(["token", "create", "--role", "pm", "--name", name]) == 2
    err = capsys.readouterr().err
    assert "control or invisible character" in err and len(err.strip().splitlines()) == 1
    with sessions() as s:
        assert s.query(ApiToken).count() == 0


def test_plain_unicode_token_names_are_fine(env, capsys):
    assert main(["token", "create", "--role", "pm", "--name", "Zoë's nightly bot — ünïcode"]) == 0
