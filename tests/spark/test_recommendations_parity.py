"""The recommendations' scans on Spark equal DuckDB's on the same records: the daily panels (interval
arithmetic), the experiment clusters (switchback blocks), the driver levels and checks, and a what-if end
to end (exact for counts, 1e-9 relative for floats)."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter

from backend.whatif import whatif_workspace
from data.errors import UserError
from data.slices import Slice, parse_scope
from data.sources import open_workspace
from recommendations import DriverChange, WhatIfResult
from recommendations.counterfactual import check_changes, feature_level
from recommendations.experiment import _mean_size, icc_anova, switchback_block
from recommendations.records import check_scope, daily_panel, micros_since, ts_col
from tests.recommendations import sim

WEST = (Slice((("region", "west"),)),)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """One simulated workspace (timestamps with microseconds) as two files: engine duckdb and engine spark."""
    world = sim.simulate(11, orders=3000, threshold_mix=True)
    world.frame["created_at"] = world.frame["created_at"].astype("datetime64[us]")  # Spark reads Parquet microseconds
    duck = sim.write(world, tmp_path_factory.mktemp("rec") / "ws",
                     recommendations={"model": {"kind": "glm", "bootstrap": 5, "sample": 2000}})
    spark = duck.with_name("spark.yaml")
    spark.write_text(yaml.safe_dump({**yaml.safe_load(duck.read_text()), "engine": "spark"}, sort_keys=False))
    return duck, spark


@pytest.fixture(scope="module")
def both(paths, spark):
    duck, on_spark = open_workspace(paths[0]), open_workspace(paths[1])
    assert (duck.engine.name, on_spark.engine.name) == ("duckdb", "spark")
    yield duck, on_spark
    duck.close()
    on_spark.close()


def _same_frames(a, b) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b) and len(a) > 0
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=0, equal_nan=True, err_msg=col)
        else:
            assert (x == y).all(), col


def test_interval_arithmetic_and_daily_panels_equal_duckdb(both):
    duck, on_spark = both
    t0 = datetime(2026, 3, 9, 10, 0, 0, 250_001)  # not on a second: the day boundaries fall between records
    ts = ts_col(duck.workspace)
    micros = f"SELECT {ts} AS ts, {micros_since(t0, ts)} AS us FROM records ORDER BY ts, us"
    a, b = duck.engine.frame(micros), on_spark.engine.frame(micros)
    assert (a["us"] < 0).any() and (a["us"] % 1_000_000 != 0).all()
    assert a["us"].tolist() == b["us"].tolist() and (a["ts"] == b["ts"]).all()
    start, end = datetime(2026, 3, 3, 5), datetime(2026, 3, 15, 22)
    panel = daily_panel(duck, WEST, t0, start, end)
    assert set(panel["treated"]) == {False, True} and panel["day"].min() < 0 < panel["day"].max()
    groups = {"treated": "region = 'west'", "control": "region IN ('north', 'south')"}
    assert len(daily_panel(duck, (), t0, start, end, **groups)) == len(panel)  # both groups every day
    _same_frames(daily_panel(duck, (), t0, start, end, **groups), daily_panel(on_spark, (), t0, start, end, **groups))


def test_switchback_clusters_are_duckdbs_time_buckets_on_both_engines(both):
    duck, on_spark = both
    hours = 5  # blocks that do not divide a day
    ts = ts_col(duck.workspace)
    block = switchback_block(ts, hours)
    # the blocks are DuckDB's time_bucket(INTERVAL 'h hours') blocks, one for one (so its plans do not change)
    same = duck.engine.row(f"SELECT count(DISTINCT time_bucket(INTERVAL '{hours} hours', {ts})), count(DISTINCT {block}), "
                           f"count(DISTINCT (time_bucket(INTERVAL '{hours} hours', {ts}), {block})) FROM records")
    assert same[0] == same[1] == same[2] > 14
    cluster = f"CAST(region AS VARCHAR) || '|' || CAST({block} AS VARCHAR)"
    value = "CAST(on_time AS DOUBLE)"
    a, b = icc_anova(duck, value, cluster, "channel = 'ios'"), icc_anova(on_spark, value, cluster, "channel = 'ios'")
    assert (a.clusters, a.records) == (b.clusters, b.records) and a.clusters > 100
    assert math.isclose(a.icc, b.icc, rel_tol=1e-9) and math.isclose(a.mean_size, b.mean_size, rel_tol=1e-12)
    end = datetime(2026, 3, 16)
    assert _mean_size(duck, cluster, "region = 'west'", end, 7) == _mean_size(on_spark, cluster, "region = 'west'", end, 7)


def test_driver_levels_and_checks_equal_duckdb(both):
    duck, on_spark = both
    start = datetime(2026, 3, 9, 10)
    kinds = {}
    for feature in ("batching_threshold", "courier_supply_ratio", "app_version"):
        a, b = feature_level(duck, feature, WEST, start, None), feature_level(on_spark, feature, WEST, start, None)
        assert (a.feature, a.kind, a.mode, a.minimum) == (b.feature, b.kind, b.mode, b.minimum), feature
        assert a.mean == b.mean if a.mean is None else math.isclose(a.mean, b.mean, rel_tol=1e-9)
        kinds[feature] = a.kind
    assert kinds == {"batching_threshold": "few", "courier_supply_ratio": "continuous", "app_version": "few"}
    errors = []
    for ow in both:
        check_changes(ow, [DriverChange("app_version", "set", "b"), DriverChange("batching_threshold", "set", 2.0)])
        check_scope(ow, parse_scope("region=west&channel=ios;region=east"))
        for bad in (lambda: check_changes(ow, [DriverChange("app_version", "set", "z")]),
                    lambda: check_scope(ow, parse_scope("region=mars")),
                    lambda: check_scope(ow, parse_scope("region=west&channel=fax"))):
            with pytest.raises(UserError) as caught:
                bad()
            errors.append(str(caught.value))
    assert errors[:3] == errors[3:]
    assert errors[0] == "app_version=z: not a value of 'app_version' (values: a, b)"


def _numbers_close(a, b, where="") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _numbers_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _numbers_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), where
    else:
        assert a == b, where


def test_a_whatif_on_spark_answers_as_on_duckdb_and_releases_its_views(paths, spark):
    views = {t.name for t in spark.catalog.listTables()}
    changes = [DriverChange("batching_threshold", "set", 2), DriverChange("courier_supply_ratio", "scale", 1.1)]
    a = whatif_workspace(paths[0], changes, "region=west", cache=None)
    b = whatif_workspace(paths[1], changes, "region=west", cache=None)
    wire = TypeAdapter(WhatIfResult)
    found = json.loads(wire.dump_json(a))
    assert found["impact"]["metrics"] and found["sample"] > 1000
    _numbers_close(found, json.loads(wire.dump_json(b)))
    assert {t.name for t in spark.catalog.listTables()} == views  # the workspace's records view is dropped
