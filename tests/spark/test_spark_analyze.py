"""`cxw analyze --engine spark` finds the same incidents as on DuckDB, and says which scans ran where."""

from __future__ import annotations

import json

import pytest
import yaml

from backend.cli import main
from tests.detection.conftest import cx_records, cx_workspace


def _incidents(folder) -> list[tuple]:
    doc = json.loads((folder / "incidents.json").read_text())
    return [(i["id"], i["metric"], i["start"], [s["slice"] for s in i["slices"]],
             round(i["current"], 9), round(i["baseline"], 9),
             [(c["hypothesis"], c.get("change_event"), c.get("feature"), round(c["confidence"], 6))
              for c in i["causes"]],
             [r.get("action") for r in i.get("recommendations") or []]) for i in doc["incidents"]]


def _behind_a_url(path):
    """A copy of the workspace ``path`` whose records are the same files named by a ``file://`` URL."""
    spec = yaml.safe_load(path.read_text())
    url = path.parent.parent / "url" / "workspace.yaml"
    url.parent.mkdir()
    records = {**spec["records"], "path": (path.parent / spec["records"]["path"]).as_uri()}
    changes = {"changes": {"path": str(path.parent / spec["changes"]["path"])}} if "changes" in spec else {}
    url.write_text(yaml.safe_dump({**spec, "records": records, **changes}))
    return url


def test_cxw_analyze_on_spark_finds_the_incidents_duckdb_finds(spark, tmp_path, capsys):
    # late deliveries ×2.5 and +6 minutes in the west region from day 14 of 21 (2026-01-19), with the change
    # that did it and a decoy in the change log
    path = cx_workspace(tmp_path / "ws", cx_records(20_000, days=21, seed=1, scope=("region", ["west"]), start_day=14.0))
    (tmp_path / "ws" / "changes.csv").write_text(
        "ts,name,kind,scope,description\n2026-01-19T00:00:00,dispatch_v2,policy,region=west,new dispatch policy\n"
        "2026-01-12T09:00:00,release_41,release,*,app release\n")
    # the outcome model draws the fewest bootstrap replicates a workspace may set (5; default 20): both engines
    # feed it the same sample, and this test compares what they find, not how wide an impact's interval is
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "changes": {"path": "changes.csv"},
                                    "recommendations": {"model": {"bootstrap": 5}}}))
    # the most severe incident explained and recommended for: every ported scan runs, once
    args = ["analyze", str(path), "--max-incidents", "1", "--recommend", "1", "--out"]
    assert main([*args, str(tmp_path / "duck")]) == 0
    capsys.readouterr()
    # on Spark the records behind a file:// URL: DuckDB has no records view, so no scan can fall back to it
    args[1] = str(_behind_a_url(path))
    assert main([*args, str(tmp_path / "spark"), "--engine", "spark"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert ("engine spark: every record scan runs on spark (metric value check, record span, metric cube, localization leaves, root-cause slice "
            "series, DiD panels, scope counts, recommendation window sums, recommendation daily series, experiment "
            "clusters, what-if scans, time range and distinct counts, root-cause candidates, cardinalities and SHAP "
            "samples, model samples)") in err
    duck, spark_found = _incidents(tmp_path / "duck"), _incidents(tmp_path / "spark")
    assert duck and all(i[3] == ["region=west"] for i in duck)
    assert duck[0][6][0][1] == "dispatch_v2" and duck[0][7]  # explained (DiD panels, series), with actions
    assert spark_found == duck


def test_a_run_over_new_data_on_spark_reads_and_finds_what_duckdb_does(spark, tmp_path):
    from datetime import datetime

    from backend.analysis import analyze_workspace
    from data.sources import open_workspace

    # late deliveries ×2.5 in the west from day 17 of 21 (2026-01-22); the run reads what is newer than 01-21
    path = cx_workspace(tmp_path / "ws", cx_records(6_000, days=21, seed=2, scope=("region", ["west"]), start_day=17.0),
                        detection={"baseline_days": 7})
    since = datetime(2026, 1, 21, 6, 30)
    found = {}
    for engine in ("duckdb", "spark"):
        ow = open_workspace(path if engine == "duckdb" else _behind_a_url(path), engine=engine)
        result = analyze_workspace(ow, tmp_path / engine, since=since, max_incidents=1, recommend=0)
        # every scan of the run, on either engine, read the records from the baseline before the new buckets on
        counts = ow.engine.row("SELECT count(*), min(created_at) FROM records")
        ow.close()
        found[engine] = (result.scanned, result.regressions, counts, _incidents(tmp_path / engine))
    duck = found["duckdb"]
    assert duck[0].window_start == datetime(2026, 1, 21, 7) and duck[0].records_from == datetime(2026, 1, 13, 7)
    assert duck[2][1] >= duck[0].records_from and 0 < duck[2][0] < 6_000
    assert duck[1] and duck[3] and duck[3][0][3] == ["region=west"]
    assert found["spark"] == duck


def test_engine_spark_without_java_is_one_line(tmp_path):
    """A fresh process (no Spark session yet) whose JAVA_HOME has no java: exit 2, one line, no traceback."""
    import os
    import subprocess
    import sys

    path = cx_workspace(tmp_path / "ws", cx_records(500, days=3, seed=3))
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    done = subprocess.run([sys.executable, "-m", "backend.cli", "validate", str(path), "--engine", "spark"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "engine spark needs Java 17 or later: no java in JAVA_HOME" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
