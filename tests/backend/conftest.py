"""Backend fixtures: a fresh database per test (SQLite file or PostgreSQL database), an app, tokens per role.

Every test that uses ``db_url`` runs twice, on SQLite and on a real PostgreSQL server that this file
starts (`pg.sh`: installs Debian's postgresql when missing, initdb in a temp folder, 127.0.0.1 only).
PostgreSQL tests are skipped, saying why, only when that server cannot be started. Set
``CXW_TEST_PG_URL`` to use an existing server instead.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.actors import Actor
from backend.db import make_engine, migrate
from backend.settings import Settings
from tests.conftest import write_workspace

HERE = Path(__file__).parent
FIXTURE_INCIDENTS = json.loads((HERE / "fixtures" / "incidents.json").read_text())["incidents"]
ROLES = ("engineer", "pm", "job")


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


def fixture_incidents() -> list[dict]:
    return copy.deepcopy(FIXTURE_INCIDENTS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """The URL of a PostgreSQL server's maintenance database, or a skip that says why there is none."""
    if os.environ.get("CXW_TEST_PG_URL"):
        yield os.environ["CXW_TEST_PG_URL"]
        return
    proc = subprocess.run(["bash", str(HERE / "pg.sh"), "start", str(_free_port())], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        print(f"\nPostgreSQL tests skipped: cannot start a server: {reason}")
        pytest.skip(f"PostgreSQL server could not be started: {reason}")
    url, folder = proc.stdout.split()
    try:
        yield url
    finally:
        subprocess.run(["bash", str(HERE / "pg.sh"), "stop", folder], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """A migrated database that each test's database is copied from."""
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    name = f"cxw_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    engine = make_engine(_with_db(pg_server, name))
    migrate(engine)
    engine.dispose()
    admin.dispose()
    return name


def _with_db(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "cxw.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database for this test alone."""
    if request.param == "sqlite":
        target = tmp_path / "db" / "cxw.db"
        target.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _with_db(server, name)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workspace_dirs=[tmp_path], database_url=db_url,
                    webhook_backoff_seconds=0.05,
                    webhook_retry_budget_seconds=3.0, webhook_timeout_seconds=2.0,
                    frontend_dist=tmp_path / "no-frontend")


@pytest.fixture
def app(settings):
    from backend.api.main import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def sessions(app):
    return app.state.sessions


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(app, settings) -> dict[str, str]:
    """One token per role: role -> secret."""
    from backend.crud import tokens as crud_tokens

    out = {}
    with app.state.sessions.begin() as session:
        for role in ROLES:
            _, secret = crud_tokens.create(session, settings.secret_key, role, f"{role}-token",
                                           Actor("fixture", "cli"))
            out[role] = secret
    return out


@pytest.fixture
def auth(tokens):
    """``auth("pm")`` -> headers for that role's token."""

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return headers


@pytest.fixture
def workspace_path(tmp_path) -> Path:
    """The tiny workspace; its three days hold a one-day baseline, so the job can really analyse it."""
    return write_workspace(tmp_path / "ws", detection={"baseline_days": 1})


@pytest.fixture
def workspace_id(client, auth, workspace_path) -> int:
    r = client.post("/api/workspaces", json={"path": str(workspace_path)}, headers=auth("engineer"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def incident_ids(client, auth, workspace_id) -> list[int]:
    """The fixture incidents posted to the workspace (by the job role)."""
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", json={"incidents": fixture_incidents()},
                    headers=auth("job"))
    assert r.status_code == 201, r.text
    return [i["id"] for i in r.json()["data"]]
