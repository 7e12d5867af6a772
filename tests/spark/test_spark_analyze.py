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


def test_cxw_analyze_on_spark_finds_the_incidents_duckdb_finds(spark, tmp_path, capsys):
    # late deliveries ×2.5 and +6 minutes in the west region from day 14 of 21 (2026-01-19), with the change
    # that did it and a decoy in the change log
    path = cx_workspace(tmp_path / "ws", cx_records(20_000, days=21, seed=1, scope=("region", ["west"]), start_day=14.0))
    (tmp_path / "ws" / "changes.csv").write_text(
        "ts,name,kind,scope,description\n2026-01-19T00:00:00,dispatch_v2,policy,region=west,new dispatch policy\n"
        "2026-01-12T09:00:00,release_41,release,*,app release\n")
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "changes": {"path": "changes.csv"}}))
    # the most severe incident explained and recommended for: every ported scan runs, once
    args = ["analyze", str(path), "--max-incidents", "1", "--recommend", "1", "--out"]
    assert main([*args, str(tmp_path / "duck")]) == 0
    capsys.readouterr()
    assert main([*args, str(tmp_path / "spark"), "--engine", "spark"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert ("engine spark: metric value check, record span, metric cube, localization leaves, root-cause slice "
            "series, DiD panels, scope counts, recommendation window sums, time range and distinct counts, "
            "root-cause candidates, cardinalities and SHAP samples, model samples run on spark") in err
    assert "what-if scans run on DuckDB over the same files" in err
    duck, spark_found = _incidents(tmp_path / "duck"), _incidents(tmp_path / "spark")
    assert duck and all(i[3] == ["region=west"] for i in duck)
    assert duck[0][6][0][1] == "dispatch_v2" and duck[0][7]  # explained (DiD panels, series), with actions
    assert spark_found == duck


def test_a_run_over_new_data_is_refused_on_spark(spark, tmp_path, capsys):
    from datetime import datetime

    from backend.analysis import analyze_workspace
    from data.errors import UserError

    path = cx_workspace(tmp_path / "ws", cx_records(2_000, days=21, seed=2))
    with pytest.raises(UserError, match="engine spark runs full analyses only"):
        analyze_workspace(path, tmp_path / "out", since=datetime(2026, 1, 20), engine="spark")
