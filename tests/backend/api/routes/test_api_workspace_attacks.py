"""A workspace is data, never code, through the API: the expression attack table through uploads, and
paths the server must never open (its own SQLite database, anything outside its data folders)."""

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
import yaml

from tests.backend.api.routes.test_api_uploads import SPEC, csv_bytes, nothing_stored, upload
from tests.conftest import write_workspace
from tests.data.test_expressions import ATTACKS, FIELDS, SECRET

# A ratio in the upload spec, so that numerator and denominator are attacked too.
METRICS = [{"name": "on_time_rate", "type": "rate", "expr": "delivered_at <= promised_at"},
           {"name": "avg_minutes", "type": "mean", "expr": "minutes"},
           {"name": "refund_per_item", "type": "ratio", "numerator": "refund", "denominator": "items"}]


@pytest.mark.parametrize("case, template, expected", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_upload_refuses_attack_in_every_field(client, auth, sessions, settings, tmp_path, case, template, expected):
    target, secret = tmp_path / "pwned.csv", tmp_path / "secret.txt"
    secret.write_text(SECRET)
    text = template.format(target=target, secret=secret)
    for metric, key in FIELDS:
        metrics = [dict(m) for m in METRICS]
        next(m for m in metrics if m["name"] == metric)[key] = text
        spec = yaml.safe_dump({**SPEC, "metrics": metrics}, allow_unicode=True).encode()
        r = upload(client, auth("engineer"), ("orders.csv", csv_bytes()), spec=spec)
        detail = r.json()["detail"]
        assert r.status_code == 422 and f"metrics.{metric}.{key}: " in detail and expected in detail, r.text
        assert SECRET not in detail, "no file content"
        assert str(settings.data_dir.resolve()) not in detail, "no server path"
        assert not target.exists()
        nothing_stored(sessions, settings)


@pytest.fixture
def db_url(sqlite_template, tmp_path):
    """SQLite only: these tests are about the server's own database file."""
    target = tmp_path / "db" / "cxw.db"
    target.parent.mkdir()
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def _reader_process(db) -> None:
    """What the next CLI command does: open the database, read, close (the last one out checkpoints)."""
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM api_token')"
            ".fetchall(); c.close()")
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)


def test_registering_the_servers_own_database_is_refused_and_tokens_persist(client, auth, settings, tmp_path):
    db = tmp_path / "db" / "cxw.db"
    first = client.post("/api/tokens", json={"role": "pm", "name": "before"}, headers=auth("engineer"))
    assert first.status_code == 201
    ws = tmp_path / "ws"
    write_workspace(ws)
    (ws / "link.db").symlink_to(db)
    os.link(db, ws / "hard.db")
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "workspace.yaml").write_text(yaml.safe_dump({
        "name": "evil", "metrics": METRICS[:1],
        "records": {"path": "../db/cxw.db", "format": "csv", "timestamp": "created_at", "dimensions": ["region"]}}))
    attempts = [db, db.parent / "cxw.db-wal", db.parent / "cxw.db-shm", db.parent, ws / "link.db", ws / "hard.db",
                ws / ".." / "db" / "cxw.db", evil]
    for path in attempts:
        r = client.post("/api/workspaces", json={"path": str(path)}, headers=auth("engineer"))
        assert r.status_code == 422, (path, r.text)
        assert "the server's own database" in r.json()["detail"] or "not found" in r.json()["detail"], r.text
    r = client.post("/api/workspaces", json={"path": str(ws), "cube_dir": str(db.parent)}, headers=auth("engineer"))
    assert r.status_code == 422 and "the server's own database" not in r.text  # no cube.parquet there
    _reader_process(db)
    second = client.post("/api/tokens", json={"role": "pm", "name": "after"}, headers=auth("engineer"))
    assert second.status_code == 201
    _reader_process(db)
    for created in (first.json(), second.json()):
        me = client.get("/api/me", headers={"Authorization": f"Bearer {created['token']}"})
        assert me.status_code == 200 and me.json()["name"] == created["name"]
    client.app.state.engine.dispose()
    check = sqlite3.connect(db)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {row[0] for row in check.execute("SELECT name FROM api_token")}
    finally:
        check.close()
    assert {"before", "after"} <= names


@pytest.mark.parametrize("where", ["/etc", "outside"])
def test_registering_outside_the_data_folders_is_refused(client, auth, tmp_path_factory, where):
    folder = write_workspace(tmp_path_factory.mktemp("elsewhere") / "ws").parent if where == "outside" else "/etc"
    r = client.post("/api/workspaces", json={"path": str(folder)}, headers=auth("engineer"))
    assert r.status_code == 422 and "outside the folders this server may read" in r.json()["detail"], r.text


def test_a_prebuilt_cube_outside_the_data_folders_is_refused(client, auth, tmp_path_factory, workspace_path):
    r = client.post("/api/workspaces", json={"path": str(workspace_path), "cube_dir": "/etc"},
                    headers=auth("engineer"))
    assert r.status_code == 422 and "cube_dir: '/etc' is outside the folders" in r.json()["detail"], r.text


@pytest.mark.parametrize("records", [
    ("orders.parquet", b"PAR1" + b"\x00garbage" * 64 + b"PAR1"),
    ("orders.csv", b"a,b\n1,2\n"),
    ("orders.csv", b"created_at,region\nnot-a-time,x\n"),
], ids=["corrupt_parquet", "missing_columns", "bad_timestamp"])
def test_upload_errors_name_no_server_path(client, auth, sessions, settings, records):
    spec = yaml.safe_dump({**SPEC, "records": {**SPEC["records"], "dimensions": ["region"]}}).encode()
    r = upload(client, auth("engineer"), records, spec=spec)
    assert r.status_code == 422, r.text
    top = f"/{settings.data_dir.resolve().parts[1]}/"  # the server's paths all start with this folder
    assert top not in r.text and "LINE 1" not in r.text, r.text
    nothing_stored(sessions, settings)


def test_records_outside_the_data_folders_are_refused_before_listing(client, auth, tmp_path):
    ws = write_workspace(tmp_path / "ws")
    spec = yaml.safe_load(ws.read_text())
    spec["records"].update(path="/etc/*", format="csv")
    ws.write_text(yaml.safe_dump(spec))
    r = client.post("/api/workspaces", json={"path": str(ws)}, headers=auth("engineer"))
    assert r.status_code == 422 and "records.path: '/etc/*' is outside the folders" in r.json()["detail"], r.text
