"""Reconciliations through the API, on SQLite and PostgreSQL: an uploaded pair (gzip-compressed, messy) and a
pair on the server each run in the background to completion with progress; the findings are the CLI's
summary.json for the same inputs; reports, chart and exports download; a run compares with a previous
one; PMs read but cannot start, the job role does neither; bad files, missing columns, paths outside
the data dirs and oversized uploads are 4xx naming the file or column with nothing stored; a run whose
process is killed is marked failed."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.cli import main
from backend.models import AuditEntry, ReconciliationRun, utcnow
from data.synthetic.billing import generate_billing

ROOT = Path(__file__).resolve().parents[4]
OPTIONS = {"key": "account_id", "tolerance": ["balance=0.01"]}


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Path:
    """A messy billing pair with a known systematic pattern (product GAS_STD → GAS_FIX in T3 × north)."""
    out = tmp_path_factory.mktemp("billing") / "pair"
    generate_billing(out, 4000, seed=3, share=0.005)
    return out


@pytest.fixture(scope="module")
def cli_summary(pair, tmp_path_factory) -> dict:
    """`cxw reconcile` on the same pair, with the service's export format and memory limit."""
    out = tmp_path_factory.mktemp("cli") / "recon"
    code = main(["reconcile", "--legacy", str(pair / "legacy.csv"), "--migrated", str(pair / "migrated.csv"),
                 "--key", "account_id", "--tolerance", "balance=0.01", "--export-format", "csv",
                 "--memory-limit", "2GB", "--out", str(out)])
    assert code == 1  # the sides differ
    return json.loads((out / "summary.json").read_text())


def comparable(summary: dict) -> dict:
    """A summary without what depends on where and when it ran (file paths, seconds, previous folder)."""
    s = json.loads(json.dumps(summary))
    s.pop("seconds")
    for side in ("legacy", "migrated"):
        s[side].pop("path")
    if s.get("previous"):
        s["previous"].pop("previous")
    return s


def wait(client, headers, run_id: int, timeout: float = 180) -> tuple[dict, list[tuple[str, float]]]:
    """Poll a run until it ends; the run and every (step, progress) seen on the way."""
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/reconciliations/{run_id}", headers=headers)
        assert r.status_code == 200, r.text
        run = r.json()
        if run["status"] == "running":
            if not seen or seen[-1] != (run["step"], run["progress"]):
                seen.append((run["step"], run["progress"]))
        else:
            return run, seen
        assert time.monotonic() < deadline, f"run {run_id} still running: {run}"
        time.sleep(0.02)


def upload(client, headers, legacy: tuple[str, bytes], migrated: tuple[str, bytes], **form):
    data = {"key": OPTIONS["key"], "tolerance": OPTIONS["tolerance"], **form}
    return client.post("/api/reconciliations/upload", files={"legacy": legacy, "migrated": migrated}, data=data,
                       headers=headers)


def nothing_stored(client, auth, settings) -> None:
    assert client.get("/api/reconciliations", headers=auth("engineer")).json()["count"] == 0
    folder = settings.data_dir / "reconciliations"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_upload_runs_in_the_background_with_progress_and_equals_the_cli(client, auth, pair, cli_summary, sessions):
    legacy = gzip.compress((pair / "legacy.csv").read_bytes())
    r = upload(client, auth("engineer"), ("legacy.csv.gz", legacy), ("migrated.csv", (pair / "migrated.csv").read_bytes()),
               name="billing cut-over")
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["source"] == "upload" and started["name"] == "billing cut-over"
    assert started["legacy_name"] == "legacy.csv.gz" and started["options"]["tolerances"] == {"balance": 0.01}
    run, seen = wait(client, auth("pm"), started["id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["step"] == "done" and run["progress"] == 1.0 and run["verdict"] == "differ"
    steps = [s for s, _ in seen]
    assert [p for _, p in seen] == sorted(p for _, p in seen)  # progress only moves forward
    assert len({s for s in steps if s not in ("queued",)}) >= 2, seen  # the engine's steps were recorded

    findings = client.get(f"/api/reconciliations/{run['id']}/findings", headers=auth("pm"))
    assert findings.status_code == 200
    assert comparable(findings.json()) == comparable(cli_summary)
    assert run["counts"] == cli_summary["counts"]
    assert run["patterns"] == len(cli_summary["findings"]) and run["systematic"] >= 1
    assert not (Path(sessions().get(ReconciliationRun, run["id"]).folder) / "input").exists()  # uploads removed
    with sessions() as s:
        actions = [a.action for a in s.query(AuditEntry).filter_by(entity_type="reconciliation").order_by(AuditEntry.id)]
    assert actions == ["reconciliation.start", "reconciliation.succeeded"]


def test_server_paths_run_downloads_and_a_run_compared_with_its_previous(client, auth, pair, tmp_path, settings):
    for name in ("legacy.csv", "migrated.csv"):
        (tmp_path / name).write_bytes((pair / name).read_bytes())
    body = {"legacy_path": str(tmp_path / "legacy.csv"), "migrated_path": str(tmp_path / "migrated.csv"),
            "key": ["account_id"], "tolerances": {"balance": 0.01}}
    r = client.post("/api/reconciliations", json=body, headers=auth("engineer"))
    assert r.status_code == 202, r.text
    first, _ = wait(client, auth("engineer"), r.json()["id"])
    assert first["status"] == "succeeded" and first["source"] == "server", first["error"]
    run_id = first["id"]
    summary = client.get(f"/api/reconciliations/{run_id}/findings", headers=auth("pm")).json()

    md = client.get(f"/api/reconciliations/{run_id}/report/markdown", headers=auth("pm"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "GAS_STD → GAS_FIX" in md.text
    pdf = client.get(f"/api/reconciliations/{run_id}/report/pdf", headers=auth("pm"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    chart = client.get(f"/api/reconciliations/{run_id}/chart", headers=auth("pm"))
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    customers = client.get(f"/api/reconciliations/{run_id}/exports/impacted_customers.csv", headers=auth("pm"))
    assert customers.status_code == 200 and customers.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(customers.text)))) == summary["counts"]["impacted_customers"]
    records = client.get(f"/api/reconciliations/{run_id}/exports/pattern_records.csv", headers=auth("pm"))
    per_pattern = {}
    for row in csv.DictReader(io.StringIO(records.text)):
        per_pattern[row["pattern"]] = per_pattern.get(row["pattern"], 0) + 1
    assert per_pattern == {f["pattern"]["label"]: f["pattern"]["records"] for f in summary["findings"]}
    for bad in ("nothing.csv", "..%2Fsummary.json", "summary.json"):
        assert client.get(f"/api/reconciliations/{run_id}/exports/{bad}", headers=auth("pm")).status_code in (404, 422)

    # the migration team fixes the product mapping: the systematic pattern is resolved, the rest persists
    fixed = {str(a) for a in json.loads((pair / "truth.json").read_text())["product_systematic"]}
    rows = list(csv.reader(io.StringIO((tmp_path / "migrated.csv").read_text())))
    for row in rows[1:]:
        if row[0] in fixed:
            row[4] = "GAS_STD"
    with (tmp_path / "migrated.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    r = client.post("/api/reconciliations", json={**body, "previous_run_id": run_id}, headers=auth("engineer"))
    assert r.status_code == 202, r.text
    second, _ = wait(client, auth("engineer"), r.json()["id"])
    assert second["status"] == "succeeded" and second["previous_id"] == run_id, second["error"]
    previous = client.get(f"/api/reconciliations/{second['id']}/findings", headers=auth("pm")).json()["previous"]
    assert previous["patterns"]["resolved"] == ["Product: GAS_STD → GAS_FIX"]
    assert "record lost" in previous["patterns"]["persisting"] and previous["patterns"]["new"] == []
    listed = client.get("/api/reconciliations", headers=auth("pm")).json()
    assert [r["id"] for r in listed["data"]] == [second["id"], run_id] and listed["count"] == 2


@pytest.mark.parametrize("legacy, status, words", [
    (("legacy.csv", b""), 422, ["legacy legacy.csv", "empty"]),
    (("legacy.csv", b"\x00\x01\x02binary\x00"), 415, ["legacy legacy.csv", "binary"]),
    (("legacy.parquet", b"not parquet at all"), 422, ["legacy legacy.parquet", "Parquet"]),
    (("legacy.xlsx", b"a,b\n1,2\n"), 415, ["legacy legacy.xlsx", "unsupported"]),
    (("legacy.csv.gz", b"\x1f\x8b\x08corrupt"), 422, ["legacy legacy.csv.gz", "gzip"]),
    (("export-2026.csv", b"account,amount\n1,2\n"), 422, ["export-2026.csv", "key column 'account_id' not found"]),
])
def test_bad_uploads_are_4xx_naming_the_file_and_store_nothing(client, auth, settings, pair, legacy, status, words):
    r = upload(client, auth("engineer"), legacy, ("migrated.csv", (pair / "migrated.csv").read_bytes()))
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert all(w in detail for w in words), detail
    assert str(settings.data_dir.resolve()) not in detail and "/tmp" not in detail
    nothing_stored(client, auth, settings)


def test_bad_options_are_422_naming_the_column(client, auth, settings, pair):
    files = (("legacy.csv", (pair / "legacy.csv").read_bytes()), ("migrated.csv", (pair / "migrated.csv").read_bytes()))
    for form, words in (({"tolerance": ["balance=-1"]}, "expected COLUMN=NUMBER"),
                        ({"compare": "product,plan"}, "compared column 'plan' not found"),
                        ({"customer_column": "client"}, "customer column 'client' not found"),
                        ({"key_normalize": "upper"}, "unknown rule(s) upper"),
                        ({"key": " , "}, "key: List should have at least 1 item"),
                        ({"previous_run_id": "99"}, "reconciliation 99 not found")):
        r = upload(client, auth("engineer"), *files, **form)
        assert r.status_code in (404, 422), r.text
        assert words in r.json()["detail"], r.json()["detail"]
    nothing_stored(client, auth, settings)


def test_too_large_uploads_are_413_also_when_compressed(client, auth, settings, pair):
    settings.upload_max_bytes = 200_000
    big = (pair / "legacy.csv").read_bytes()
    assert len(big) > 200_000 and len(gzip.compress(big)) < 200_000
    for name, content in (("legacy.csv", big), ("legacy.csv.gz", gzip.compress(big))):
        r = upload(client, auth("engineer"), (name, content), ("migrated.csv", b"account_id\n1\n"))
        assert r.status_code == 413, r.text
        assert name in r.json()["detail"] and "195.3 KB" in r.json()["detail"]
    nothing_stored(client, auth, settings)


def test_server_paths_outside_the_data_dirs_or_the_database_are_refused(client, auth, settings, pair, tmp_path):
    outside = pair / "legacy.csv"  # in another temp folder: neither data dir nor a workspace dir
    (tmp_path / "migrated.csv").write_bytes((pair / "migrated.csv").read_bytes())
    (tmp_path / "link.csv").symlink_to(outside)
    cases = [(str(outside), "is outside the folders this server may read"),
             (str(tmp_path / "link.csv"), "is outside the folders this server may read"),
             (str(tmp_path / ".." / outside.parent.parent.name / "pair" / "legacy.csv"), "outside the folders"),
             (str(tmp_path / "missing.csv"), "no such file"),
             (str(tmp_path / ("x" * 300 + ".csv")), "cannot read the file (File name too long)")]
    if settings.resolved_database_url.startswith("sqlite"):
        cases.append((settings.resolved_database_url.removeprefix("sqlite:///"), "the server's own database"))
    for path, words in cases:
        r = client.post("/api/reconciliations", json={"legacy_path": path, "migrated_path": str(tmp_path / "migrated.csv"),
                                                      "key": ["account_id"]}, headers=auth("engineer"))
        assert r.status_code == 422, r.text
        assert words in r.json()["detail"] and "legacy" in r.json()["detail"]
    r = client.post("/api/reconciliations", json={"legacy_path": str(tmp_path / "a\x00.csv"), "migrated_path": "m.csv",
                                                  "key": ["account_id"]}, headers=auth("engineer"))
    assert r.status_code == 422 and "control characters" in r.text
    nothing_stored(client, auth, settings)


def test_pm_reads_but_cannot_start_and_the_job_role_does_neither(client, auth, pair, tmp_path):
    (tmp_path / "l.csv").write_bytes((pair / "legacy.csv").read_bytes())
    body = {"legacy_path": str(tmp_path / "l.csv"), "migrated_path": str(tmp_path / "l.csv"), "key": ["account_id"]}
    files = {"legacy": ("l.csv", b"account_id\n1\n"), "migrated": ("m.csv", b"account_id\n1\n")}
    for role in ("pm", "job"):
        r = client.post("/api/reconciliations", json=body, headers=auth(role))
        assert r.status_code == 403 and "needs engineer" in r.json()["detail"]
        r = client.post("/api/reconciliations/upload", files=files, data={"key": "account_id"}, headers=auth(role))
        assert r.status_code == 403
    assert client.get("/api/reconciliations", headers=auth("job")).status_code == 403
    assert client.get("/api/reconciliations", headers=auth("pm")).json()["count"] == 0
    r = client.post("/api/reconciliations", json=body, headers=auth("engineer"))  # the same file on both sides
    run, _ = wait(client, auth("pm"), r.json()["id"])
    assert run["status"] == "succeeded" and run["verdict"] == "agree"
    for path in ("", "/findings", "/report/markdown", "/chart", "/exports/impacted_customers.csv"):
        assert client.get(f"/api/reconciliations/{run['id']}{path}", headers=auth("pm")).status_code == 200
        assert client.get(f"/api/reconciliations/{run['id']}{path}", headers=auth("job")).status_code == 403


def test_a_run_that_fails_in_the_engine_says_why_and_leaves_no_output(client, auth, tmp_path, sessions):
    (tmp_path / "legacy.csv").write_text("account_id,amount\n1,5\n2,6\n")
    (tmp_path / "migrated.csv").write_text("account_id,amount\n2026-01-01,5\n2026-01-02,6\n")
    r = client.post("/api/reconciliations", json={"legacy_path": str(tmp_path / "legacy.csv"),
                                                  "migrated_path": str(tmp_path / "migrated.csv"),
                                                  "key": ["account_id"]}, headers=auth("engineer"))
    assert r.status_code == 202, r.text
    run, _ = wait(client, auth("engineer"), r.json()["id"])
    assert run["status"] == "failed" and "the key types do not match" in run["error"]
    assert client.get(f"/api/reconciliations/{run['id']}/findings", headers=auth("pm")).status_code == 409
    with sessions() as s:
        folder = Path(s.get(ReconciliationRun, run["id"]).folder)
    assert not folder.exists() or list(folder.iterdir()) == []


def _env(settings) -> dict[str, str]:
    return {**os.environ, "CXW_DATABASE_URL": settings.resolved_database_url, "CXW_DATA_DIR": str(settings.data_dir),
            "CXW_WORKSPACE_DIRS": json.dumps([str(settings.data_dir.parent)]), "PYTHONPATH": str(ROOT)}


RUN_IN_ANOTHER_PROCESS = """
import sys
from backend.actors import Actor
from backend.commands.service import open_database
from backend.jobs.reconcile import prepare_paths, start_run
from backend.schemas.reconciliation import ReconcileSettings
settings, sessions = open_database()
body = ReconcileSettings(key=["account_id"])
with sessions() as session:
    prepared = prepare_paths(settings, session, body, sys.argv[1], sys.argv[2])
start_run(sessions, settings, Actor("worker", "engineer"), prepared, body, background=False)
"""


def test_a_killed_run_is_marked_failed(client, auth, settings, sessions, tmp_path):
    generate_billing(tmp_path / "big", 60_000, seed=5, fmt="parquet")
    proc = subprocess.Popen([sys.executable, "-c", RUN_IN_ANOTHER_PROCESS, str(tmp_path / "big" / "legacy.parquet"),
                             str(tmp_path / "big" / "migrated.parquet")], env=_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            with sessions() as s:
                running = s.query(ReconciliationRun).filter_by(status="running").one_or_none()
            if running is not None:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert running.pid == proc.pid
    run = client.get(f"/api/reconciliations/{running.id}", headers=auth("pm")).json()
    assert run["status"] == "failed" and f"its process {proc.pid} on this host is gone" in run["error"]
    assert not (Path(running.folder) / "out").exists()
    with sessions() as s:
        assert s.query(AuditEntry).filter_by(action="reconciliation.failed", entity_id=str(running.id)).count() == 1


def test_running_runs_answer_409_for_findings_and_limit_new_starts(client, auth, settings, sessions, pair, tmp_path):
    settings.reconcile_max_running = 1
    now = utcnow()
    with sessions.begin() as s:
        alive = ReconciliationRun(name="busy", source="server", status="running", actor="ana", legacy_name="a",
                                  migrated_name="b", options={"key": ["id"]}, folder=str(tmp_path / "busy"),
                                  step="joining and comparing", progress=0.35, started_at=now, host=None,
                                  pid=None, heartbeat_at=now)
        s.add(alive)
        s.flush()
        alive_id = alive.id
    r = client.get(f"/api/reconciliations/{alive_id}/findings", headers=auth("pm"))
    assert r.status_code == 409 and "still running (joining and comparing, 35%)" in r.json()["detail"]
    (tmp_path / "l.csv").write_bytes((pair / "legacy.csv").read_bytes())
    r = client.post("/api/reconciliations", json={"legacy_path": str(tmp_path / "l.csv"),
                                                  "migrated_path": str(tmp_path / "l.csv"), "key": ["account_id"]},
                    headers=auth("engineer"))
    assert r.status_code == 409 and "1 reconciliation(s) already running" in r.json()["detail"]
    assert client.get("/api/reconciliations", headers=auth("pm")).json()["count"] == 1


def test_cli_import_makes_a_cli_run_visible(client, auth, settings, pair, tmp_path, capsys, monkeypatch):
    out = tmp_path / "recon"
    assert main(["reconcile", "--legacy", str(pair / "legacy.csv"), "--migrated", str(pair / "migrated.csv"),
                 "--key", "account_id", "--out", str(out)]) == 1
    monkeypatch.setenv("CXW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CXW_DATABASE_URL", settings.resolved_database_url)
    assert main(["reconciliations", "import", str(out), "--name", "demo migration"]) == 0
    listed = client.get("/api/reconciliations", headers=auth("pm")).json()["data"]
    assert [(r["name"], r["source"], r["status"]) for r in listed] == [("demo migration", "import", "succeeded")]
    findings = client.get(f"/api/reconciliations/{listed[0]['id']}/findings", headers=auth("pm")).json()
    assert findings == json.loads((out / "summary.json").read_text())
    exports = client.get(f"/api/reconciliations/{listed[0]['id']}/exports/lost.parquet", headers=auth("pm"))
    assert exports.status_code == 200 and exports.content.startswith(b"PAR1")
    capsys.readouterr()
    assert main(["reconciliations", "import", str(tmp_path)]) == 2
    assert "summary.json not found" in capsys.readouterr().err
    assert main(["reconciliations", "list"]) == 0
    assert "demo migration" in capsys.readouterr().out
