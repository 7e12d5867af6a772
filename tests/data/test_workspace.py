"""Every workspace mistake exits 2 with one line naming the file and key, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from backend.cli import main
from data.errors import WorkspaceError
from data.slices import scope_text
from data.sources import open_workspace
from tests.conftest import TINY_METRICS, tiny_records, write_workspace


def _edit(path: Path, fn) -> Path:
    spec = yaml.safe_load(path.read_text())
    fn(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _metric(spec: dict, name: str) -> dict:
    return next(m for m in spec["metrics"] if m["name"] == name)


STRUCTURE_CASES = {
    "unknown_top_key": (lambda s: s.update(metrcs=[]), "metrcs: unknown key"),
    "missing_records": (lambda s: s.pop("records"), "records: required key is missing"),
    "bad_grain": (lambda s: s["records"].update(grain="minute"), "records.grain"),
    "no_dimensions": (lambda s: s["records"].update(dimensions=[]), "records.dimensions"),
    "duplicate_dimension": (lambda s: s["records"].update(dimensions=["region", "region"]), "listed twice"),
    "rate_without_expr": (lambda s: _metric(s, "on_time_rate").pop("expr"), "metrics.on_time_rate: a rate metric needs 'expr'"),
    "bad_metric_type": (lambda s: _metric(s, "avg_minutes").update(type="median"), "metrics.avg_minutes.type"),
    "composite_unknown_component": (
        lambda s: _metric(s, "score")["weights"].update(support_rate=0.1), "'support_rate' is not a metric"),
    "duplicate_metric": (lambda s: s["metrics"].append(dict(TINY_METRICS[0])), "duplicate name 'on_time_rate'"),
    "dimension_also_feature": (lambda s: s["records"].update(features=["region"]), "both a dimension and a feature"),
}

DATA_CASES = {
    "records_path_missing": (lambda s: s["records"].update(path="nowhere"), "records.path: 'nowhere' does not exist"),
    "glob_matches_nothing": (lambda s: s["records"].update(path="orders/*.csv"), "no files match"),
    "dimension_column_missing": (lambda s: s["records"].update(dimensions=["regon"]),
                                 "records.dimensions: column 'regon' not found"),
    "feature_column_missing": (lambda s: s["records"].update(features=["suply"]), "records.features: column 'suply'"),
    "entity_column_missing": (lambda s: s["records"].update(entity="customer"), "records.entity: column 'customer'"),
    "id_column_missing": (lambda s: s["records"].update(id="order"), "records.id: column 'order' not found"),
    "id_not_integer_or_text": (lambda s: s["records"].update(id="supply"),
                               "records.id: column 'supply' has type DOUBLE; a record id is an integer or text column"),
    "timestamp_not_a_time": (lambda s: s["records"].update(timestamp="store", dimensions=["region"]),
                             "value that is not a timestamp: 's"),
    "expression_unknown_column": (lambda s: _metric(s, "on_time_rate").update(expr="delivered_at <= promisd_at"),
                                  "metrics.on_time_rate.expr: 'promisd_at' is not a column of the records (did you mean 'promised_at'?)"),
    "expression_syntax": (lambda s: _metric(s, "avg_minutes").update(expr="minutes +* 2"),
                          "metrics.avg_minutes.expr"),
    "rate_not_boolean": (lambda s: _metric(s, "cancel_rate").update(expr="minutes"), "a rate needs a true/false"),
    "mean_not_numeric": (lambda s: _metric(s, "avg_minutes").update(expr="region"), "a mean needs a number"),
    "ratio_denominator_bad": (lambda s: _metric(s, "refund_per_item").update(denominator="itemz"),
                              "metrics.refund_per_item.denominator"),
    "changes_missing": (lambda s: s["changes"].update(path="nope.csv"), "changes.path: "),
}


def _run_validate(path: Path, capsys) -> tuple[int, str]:
    code = main(["metrics", str(path), "--out", str(path.parent / "out")])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("case", sorted(STRUCTURE_CASES) + sorted(DATA_CASES))
def test_workspace_mistake_exits_2_with_one_line(tiny_workspace, capsys, case):
    edit, expected = {**STRUCTURE_CASES, **DATA_CASES}[case]
    path = _edit(tiny_workspace, edit)
    code, err = _run_validate(path, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert str(path) in err and expected in err, err
    assert not (path.parent / "out").exists(), "nothing is written on a mistake"


@pytest.mark.parametrize("content, expected", [
    ("a: [1, 2\n", "not valid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_unparseable_workspace(tmp_path, capsys, content, expected):
    path = tmp_path / "workspace.yaml"
    path.write_text(content)
    code, err = _run_validate(path, capsys)
    assert code == 2 and expected in err and len(err.splitlines()) == 1


def test_missing_workspace_file(tmp_path, capsys):
    code, err = _run_validate(tmp_path / "absent.yaml", capsys)
    assert code == 2 and "workspace file not found" in err


@pytest.mark.parametrize("rows, expected", [
    ("ts,name,kind\n2026-01-01,a,policy\n", "missing column 'scope'"),
    ("ts,name,kind,scope,description\nyesterday,a,policy,*,x\n", "line 2: ts 'yesterday' is not a timestamp"),
    ("ts,name,kind,scope,description\n2026-01-01,a,policy,*,x\n2026-01-02,b,policy,color=red,x\n",
     "line 3: scope names 'color', which is not a dimension"),
    ("ts,name,kind,scope,description\n2026-01-01,a,policy,region,x\n", "line 2: scope"),
    ("ts,name,kind,scope,description\n2026-01-01,a,policy,*,x\n2026-01-02,a,model,*,y\n",
     "lines 2, 3: change 'a' is logged with kinds 'policy' (line 2) and 'model' (line 3)"),
])
def test_change_log_mistakes_name_file_and_line(tiny_workspace, capsys, rows, expected):
    (tiny_workspace.parent / "changes.csv").write_text(rows)
    code, err = _run_validate(tiny_workspace, capsys)
    assert code == 2 and "changes.csv" in err and expected in err, err


def test_change_events_parse_scopes(tiny_workspace):
    ow = open_workspace(tiny_workspace)
    events = {e.name: e for e in ow.changes}
    assert events["release_9"].is_global
    assert scope_text(events["policy_a"].scope) == "region=north"


def test_empty_records_are_refused(tmp_path, capsys):
    path = write_workspace(tmp_path / "ws", tiny_records(10).iloc[:0])
    code, err = _run_validate(path, capsys)
    assert code == 2 and "holds no records" in err


def test_corrupt_parquet_is_refused(tiny_workspace, capsys):
    (tiny_workspace.parent / "orders" / "part-1.parquet").write_bytes(b"PAR1 not really")
    code, err = _run_validate(tiny_workspace, capsys)
    assert code == 2 and "cannot read Parquet" in err and len(err.splitlines()) == 1


def _csv_workspace(folder: Path, frame: pd.DataFrame, filename: str, **write_kw) -> Path:
    path = write_workspace(folder)
    frame.to_csv(folder / filename, index=False, **write_kw)
    return _edit(path, lambda s: s["records"].update(path=filename))


def test_csv_latin1_semicolon_with_epoch_timestamps(tmp_path):
    frame = tiny_records(200)
    frame["region"] = frame["region"].fillna("méditerranée")
    for col in ("created_at", "promised_at", "delivered_at"):
        frame[col] = (frame[col] - pd.Timestamp("1970-01-01")) // pd.Timedelta("1ms")
    path = _csv_workspace(tmp_path / "ws", frame, "orders.csv", sep=";", encoding="latin-1")
    _edit(path, lambda s: _metric(s, "on_time_rate").update(expr="delivered_at <= promised_at"))
    ow = open_workspace(path)
    assert ow.columns["created_at"].startswith("TIMESTAMP")
    first = ow.con.execute("SELECT min(created_at) FROM records").fetchone()[0]
    assert first.year == 2026
    assert ow.con.execute("SELECT count(*) FROM records WHERE region = 'méditerranée'").fetchone()[0] > 0


def test_csv_iso_strings_with_timezone_become_utc(tmp_path):
    frame = tiny_records(100)
    frame["created_at"] = frame["created_at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris").astype(str)
    path = _csv_workspace(tmp_path / "ws", frame, "orders.csv")
    ow = open_workspace(path)
    got = ow.con.execute("SELECT min(created_at) FROM records").fetchone()[0]
    assert pd.Timestamp(got) == tiny_records(100)["created_at"].min()


def test_hive_partitioned_directory(tmp_path):
    frame = tiny_records(300)
    folder = tmp_path / "ws"
    path = write_workspace(folder)
    for region, part in frame.fillna({"region": "none"}).groupby("region"):
        target = folder / "hive" / f"zone={region}"
        target.mkdir(parents=True)
        part.to_parquet(target / "data.parquet", index=False)
    _edit(path, lambda s: (s["records"].update(path="hive", dimensions=["zone", "store"]), s.pop("changes")))
    ow = open_workspace(path)
    assert ow.con.execute("SELECT count(DISTINCT zone) FROM records").fetchone()[0] == 4
    assert len(ow.files) == 4


def test_workspace_error_carries_where_and_problem():
    err = WorkspaceError("ws.yaml: metrics.x.expr", "bad")
    assert str(err) == "ws.yaml: metrics.x.expr: bad"
