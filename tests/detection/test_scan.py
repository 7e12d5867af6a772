"""The scan end to end on CX-like records with a planted regression: found on the right metrics, dated,
localized, one regression per metric (parents and children collapse), nothing on clean data; the
``detection:`` section is validated; `cxw detect` writes regressions.json. (On the generated
CX scenarios, detection is checked with the whole analysis in `tests/rca/test_accuracy.py`.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml

from backend.cli import main
from data.errors import UserError, WorkspaceError
from data.sources import open_workspace
from detection import detect
from detection.config import detection_config
from detection.scan import scan
from metrics.cube import build_cube
from tests.detection.conftest import cx_records, cx_workspace

START = datetime(2026, 1, 5) + timedelta(days=14.4)  # where cx_records plants the change


def _opened(folder, scope):
    ws = cx_workspace(folder, cx_records(120_000, scope=scope))
    ow = open_workspace(ws)
    build_cube(ow, folder / "out")
    return ow, folder / "out" / "cube.parquet"


@pytest.fixture(scope="module")
def west(tmp_path_factory):
    ow, cube = _opened(tmp_path_factory.mktemp("west"), ("region", ["west"]))
    return ow, cube, scan(ow, cube)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    ow, cube = _opened(tmp_path_factory.mktemp("clean"), None)
    return ow, cube, scan(ow, cube)


def test_planted_regression_is_found_dated_and_localized(west):
    _, _, result = west
    by_metric = {r.metric: r for r in result.regressions}
    for metric, direction in (("on_time_rate", "down"), ("avg_minutes", "up")):
        r = by_metric[metric]
        assert r.direction == direction
        assert abs(r.start - START) <= timedelta(days=1)
        assert r.slice.key == "region=west"
        assert "region=west" in [s.key for s in r.slices[:3]]
        assert r.q_value <= result.config.fdr and r.p_value <= r.q_value
        assert r.change_interval.low <= r.change <= r.change_interval.high
        assert r.support >= result.config.min_support


def test_one_regression_per_metric_parents_and_children_collapse(west):
    _, _, result = west
    metrics = [r.metric for r in result.regressions]
    assert len(metrics) == len(set(metrics)), "the one cause is one regression per metric"
    on_time = next(r for r in result.regressions if r.metric == "on_time_rate")
    assert on_time.extra.members > 1, "children of region=west were flagged and folded in"
    west_stores = {f"store_id=s{i:03d}" for i in range(3, 60, 6)}  # cx_records puts store i in region i % 6
    for member in on_time.extra.member_slices:  # west, its parts, or a parent of them (`*`, a channel)
        filters = dict(part.split("=") for part in member.split("&")) if member != "*" else {}
        assert filters.get("region", "west") == "west", member
        assert "store_id" not in filters or f"store_id={filters['store_id']}" in west_stores, member


def test_only_degradations_are_regressions(west):
    _, _, result = west
    for r in result.regressions:
        good = r.extra.good
        assert (r.direction == "down") == (good == "up"), f"{r.metric} moved the good way"


def test_clean_data_has_no_regression(clean):
    _, _, result = clean
    assert result.regressions == []
    assert result.tested > 1000


def test_detect_returns_the_scans_regressions_and_ids_are_stable(west):
    ow, cube, result = west
    again = detect(ow, pd.read_parquet(cube))
    assert [r.id for r in again] == [r.id for r in result.regressions]
    assert len({r.id for r in again}) == len(again)


def test_cli_builds_the_cube_and_writes_regressions_json(tmp_path, west):
    ow, _, result = west
    out = tmp_path / "out"
    assert main(["detect", str(ow.workspace.source_file), "--out", str(out)]) == 0
    assert (out / "cube.parquet").exists()
    doc = json.loads((out / "regressions.json").read_text())
    assert doc["tested"] == result.tested and len(doc["regressions"]) == len(result.regressions)
    first = doc["regressions"][0]
    for key in ("id", "metric", "direction", "start", "end", "baseline", "current", "change", "change_interval",
                "relative_change", "relative_interval", "p_value", "q_value", "slice", "slices"):
        assert key in first
    assert {"slice", "share"} <= set(first["slices"][0])
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "nothing half-written left behind"


def test_sensitivity_comes_from_the_workspace(tmp_path, west):
    """A stricter min_relative_change drops the regressions below it; disabled metrics are not scanned."""
    ow, cube, result = west
    spec = yaml.safe_load(ow.workspace.source_file.read_text())
    spec["detection"] = {"min_relative_change": 0.3, "cusum_shifts": [0.35, 0.5],
                         "metrics": {"avg_minutes": {"enabled": False}}}
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec).replace("path: orders", f"path: {ow.workspace.resolve('orders')}"))
    strict = scan(open_workspace(path), cube)
    for r in strict.regressions:  # a rate's tolerance is relative to its rarer outcome
        scale = min(r.baseline, 1 - r.baseline) if ow.workspace.metric(r.metric).type == "rate" else abs(r.baseline)
        assert abs(r.change) / scale >= 0.3
    assert "avg_minutes" not in {r.metric for r in strict.regressions}
    assert len(strict.regressions) < len(result.regressions)


def test_window_and_baseline_come_from_the_section(west):
    ow, cube, _ = west
    result = scan(ow, cube, detection_config(ow.workspace, window="7d", baseline_days=10))
    assert result.window.end - result.window.start == timedelta(days=7)
    assert result.baseline.end == result.window.start
    assert result.baseline.end - result.baseline.start == timedelta(days=10)


def test_daily_grain(tmp_path):
    """Day buckets: day-of-week seasonality, the same regression found within a day of its start."""
    records = cx_records(80_000, days=42, scope=("region", ["west"]), start_day=28.4)
    ws = cx_workspace(tmp_path / "ws", records, detection={"baseline_days": 21})
    spec = yaml.safe_load(ws.read_text())
    spec["records"]["grain"] = "day"
    ws.write_text(yaml.safe_dump(spec))
    ow = open_workspace(ws)
    build_cube(ow, tmp_path / "out")
    result = scan(ow, tmp_path / "out" / "cube.parquet")
    on_time = next(r for r in result.regressions if r.metric == "on_time_rate")
    assert on_time.grain == "day" and on_time.slice.key == "region=west"
    assert abs(on_time.start - (datetime(2026, 1, 5) + timedelta(days=28.4))) <= timedelta(days=1)


@pytest.mark.parametrize("section, message", [
    ({"fdr": 2}, "detection.fdr: Input should be less than 0.5"),
    ({"fdrr": 0.01}, "detection.fdrr: unknown key"),
    ({"detectors": ["cusum", "magic"]}, "unknown detector 'magic'"),
    ({"window": "soon"}, "detection.window: Value error, 'soon' is not a duration"),
    ({"metrics": {"nope": {"enabled": False}}}, "detection.metrics.nope: not a metric"),
    ({"min_relative_change": 0.3}, "cusum_shifts: every shift must exceed"),
    ({"metrics": {"on_time_rate": {"min_suport": 3}}}, "detection.metrics.on_time_rate.min_suport: unknown key"),
])
def test_detection_section_is_validated_naming_the_key(tmp_path, section, message):
    ws = cx_workspace(tmp_path / "ws", cx_records(2000, days=3), detection=section)
    from data.workspace import load_workspace

    with pytest.raises(WorkspaceError) as err:
        detection_config(load_workspace(ws))
    assert message.replace("Value error, ", "") in str(err.value)
    assert str(ws.name) in str(err.value) and "\n" not in str(err.value)


def test_cli_exits_2_with_one_line_for_a_bad_section(tmp_path, capsys):
    ws = cx_workspace(tmp_path / "ws", cx_records(2000, days=3), detection={"baseline_days": 7})
    assert main(["detect", str(ws), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "detection.baseline_days" in err and "3 days" in err


def test_a_cube_of_another_grain_is_refused(tmp_path, west):
    ow, cube, _ = west
    spec = yaml.safe_load(ow.workspace.source_file.read_text())
    spec["records"]["grain"] = "day"
    spec["records"]["path"] = str(ow.workspace.resolve("orders"))
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(UserError, match="another grain"):
        scan(open_workspace(path), cube)


# -- panels and leaves against pandas -------------------------------------------------------------------


def test_panels_are_the_cube_pivoted(west):
    from detection.panel import CubeSource

    ow, cube, _ = west
    long = pd.read_parquet(cube)
    source = CubeSource(cube, "hour")
    panel, dropped = source.panel("avg_minutes", "mean", ((0, 24 * 14), (24 * 14, 24 * 28)), 100)
    rows = long[long.metric == "avg_minutes"]
    support = rows.groupby("slice")["n"].sum()
    assert dropped == len(support) - panel.shape[0] and panel.shape[1] == 28 * 24
    for key in ("*", "region=west", "category=grocery&region=west"):
        i = list(panel.slices).index(key)
        mine = rows[rows.slice == key].set_index("ts").reindex(pd.DatetimeIndex(source.ts)).fillna(0.0)
        assert (panel.numerator[i] == mine["numerator"].to_numpy()).all()
        assert (panel.n[i] == mine["n"].to_numpy()).all()
        assert (panel.num_sq[i] == mine["num_sq"].to_numpy()).all()


def test_leaf_sums_match_a_groupby_of_the_records(west):
    from detection.leaves import Period, leaf_sums

    ow, _, result = west
    records = pd.read_parquet(ow.workspace.resolve("orders"))
    dims = ow.workspace.records.dimensions
    window = Period(result.window.start, result.window.start + timedelta(days=3))
    sums = leaf_sums(ow, [ow.workspace.metric("avg_minutes")], [result.baseline, window])
    inside = records[(records.created_at >= window.start) & (records.created_at < window.end)]
    expected = inside.groupby(dims)["minutes"].agg(["sum", "count"]).reset_index()
    merged = sums.merge(expected, on=dims, how="left").fillna(0.0)
    assert sums["n_1"].sum() == len(inside)
    assert ((merged["x_0_1"] - merged["sum"]).abs() < 1e-6).all() and (merged["y_0_1"] == merged["count"]).all()


def test_a_cube_kept_in_the_engine_reads_as_its_parquet_file(west):
    """`cxw analyze` without a cube folder keeps the cube in DuckDB (`EngineCube`): every metric's panel
    equals the one pivoted from cube.parquet, array for array, the scan finds the same regressions, and
    leaving the cube drops its table."""
    from detection.panel import panels_from_cube
    from metrics.cube import EngineCube

    ow, cube, result = west
    kinds = {m.name: m.type for m in ow.workspace.metrics}
    from_file = panels_from_cube(cube, kinds, "hour")
    with EngineCube(ow) as held:
        from_engine = panels_from_cube(held, kinds, "hour")
        again = scan(ow, held)
    for metric, panel in from_file.items():
        other = from_engine[metric]
        assert list(other.slices) == list(panel.slices) and (other.ts == panel.ts).all()
        for name in ("numerator", "denominator", "n", "num_sq", "den_sq", "num_den"):
            mine, theirs = getattr(other, name), getattr(panel, name)
            assert (mine is None) == (theirs is None), (metric, name)
            assert mine is None or np.array_equal(mine, theirs), (metric, name)
    assert again.regressions == result.regressions and again.regressions
    assert ow.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'wide'").fetchone()[0] == 0
