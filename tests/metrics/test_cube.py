"""The cube equals a pandas reference on small data: every metric type, every slice, nulls."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from backend.cli import main
from data.sources import open_workspace
from metrics.cube import build_cube, grouping_sets
from tests.conftest import tiny_records, write_workspace

DIMS = ["channel", "region", "store"]


def pandas_cube(records: pd.DataFrame, grain: str = "h", depth: int = 2) -> pd.DataFrame:
    """The cube computed the slow, obvious way."""
    df = records.copy()
    df["ts"] = df["created_at"].dt.floor(grain)
    for d in DIMS:
        df[d] = df[d].astype(object).where(df[d].notna(), "(null)")
    on_time = (df["delivered_at"] <= df["promised_at"]).astype(float).where(df["delivered_at"].notna())
    rows = []
    inputs = {
        "on_time_rate": (on_time, on_time.notna().astype(float).where(on_time.notna())),
        "avg_minutes": (df["minutes"], df["minutes"].notna().astype(float).where(df["minutes"].notna())),
        "refund_per_order": (df["refund"], pd.Series(1.0, index=df.index).where(df["refund"].notna())),
        "refund_per_item": (df["refund"].where(df["items"].notna()), df["items"].where(df["refund"].notna())),
        "cancel_rate": (df["cancelled"].astype(float), pd.Series(1.0, index=df.index)),
    }
    for k in range(depth + 1):
        for combo in combinations(DIMS, k):
            keys = ["ts", *combo]
            grouped = df.groupby(keys, sort=True)
            labels = grouped.size().reset_index(name="n")
            labels["slice"] = (labels[list(combo)].apply(
                lambda r: "&".join(f"{d}={r[d]}" for d in combo), axis=1) if combo else "*")
            for name, (x, y) in inputs.items():
                agg = pd.DataFrame({"x": x, "y": y, "xx": x * x, "yy": y * y, "xy": x * y})
                sums = agg.groupby([df[c] for c in keys], sort=True).sum(min_count=1).reset_index(drop=True)
                part = labels[["ts", "slice", "n"]].copy()
                part["metric"] = name
                part["numerator"] = sums["x"].fillna(0.0).to_numpy()
                part["denominator"] = sums["y"].fillna(0.0).to_numpy()
                part["num_sq"] = sums["xx"].fillna(0.0).to_numpy()
                part["value"] = part["numerator"] / part["denominator"].replace(0.0, np.nan)
                rows.append(part)
    cube = pd.concat(rows, ignore_index=True)
    wide = cube.pivot_table(index=["ts", "slice"], columns="metric", values="value", dropna=False)
    score = (0.6 * wide["on_time_rate"] + 0.4 * (1 - wide["cancel_rate"])).rename("value").reset_index()
    score["metric"] = "score"
    return cube, score


@pytest.fixture(scope="module")
def cube_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cube")
    records = tiny_records(800, seed=3)
    ws_path = write_workspace(folder / "ws", records)
    build_cube(open_workspace(ws_path), folder / "out")
    ours = pd.read_parquet(folder / "out" / "cube.parquet")
    return ours, *pandas_cube(records)


def test_grouping_sets_cover_every_combination_up_to_depth():
    sets = grouping_sets(["b", "a", "c"], 2)
    assert sets[0] == ()
    assert len(sets) == 1 + 3 + 3
    assert ("a", "b") in sets and ("a", "b", "c") not in sets


@pytest.mark.parametrize("metric", ["on_time_rate", "avg_minutes", "refund_per_order", "refund_per_item", "cancel_rate"])
def test_cube_equals_pandas_reference(cube_pair, metric):
    ours, ref, _ = cube_pair
    mine = ours[ours.metric == metric].set_index(["ts", "slice"]).sort_index()
    theirs = ref[ref.metric == metric].set_index(["ts", "slice"]).sort_index()
    assert mine.index.equals(theirs.index), "the same (bucket, slice) rows, no more, no fewer"
    np.testing.assert_array_equal(mine["n"].to_numpy(), theirs["n"].to_numpy())
    for col in ("numerator", "denominator", "num_sq"):
        np.testing.assert_allclose(mine[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mine["value"].to_numpy(dtype=float), theirs["value"].to_numpy(dtype=float),
                               rtol=1e-12, equal_nan=True)


def test_composite_is_weighted_mean_of_oriented_components(cube_pair):
    ours, _, score = cube_pair
    mine = ours[ours.metric == "score"].set_index(["ts", "slice"]).sort_index()["value"]
    theirs = score.set_index(["ts", "slice"]).sort_index()["value"]
    np.testing.assert_allclose(mine.to_numpy(dtype=float), theirs.reindex(mine.index).to_numpy(dtype=float),
                               rtol=1e-12, equal_nan=True)


def test_null_dimension_values_get_their_own_slice(cube_pair):
    ours, _, _ = cube_pair
    assert (ours.slice == "region=(null)").any()
    assert ours.slice.str.contains("region=(null)&store=", regex=False).any()


def test_slices_sort_dimensions_by_name_and_total_is_star(cube_pair):
    ours, _, _ = cube_pair
    assert "*" in set(ours.slice)
    two = ours.slice[ours.slice.str.count("&") == 1].iloc[0]
    dims = [p.split("=")[0] for p in two.split("&")]
    assert dims == sorted(dims)


def test_empty_denominator_gives_null_value(tmp_path):
    records = tiny_records(50)
    records["delivered_at"] = pd.NaT  # every order cancelled: on-time has no denominator anywhere
    ws_path = write_workspace(tmp_path / "ws", records)
    build_cube(open_workspace(ws_path), tmp_path / "out")
    cube = pd.read_parquet(tmp_path / "out" / "cube.parquet")
    on_time = cube[cube.metric == "on_time_rate"]
    assert on_time["value"].isna().all() and (on_time["denominator"] == 0).all()


def test_daily_grain_and_depth_option(tmp_path):
    records = tiny_records(300)
    ws_path = write_workspace(tmp_path / "ws", records)
    text = ws_path.read_text().replace("grain: hour", "grain: day")
    ws_path.write_text(text)
    build_cube(open_workspace(ws_path), tmp_path / "out", depth=1)
    cube = pd.read_parquet(tmp_path / "out" / "cube.parquet")
    assert cube.ts.nunique() == 3
    assert not cube.slice.str.contains("&", regex=False).any()
    total = cube[(cube.metric == "cancel_rate") & (cube.slice == "*")]
    assert total["n"].sum() == 300


def test_cli_metrics_writes_cube_and_info(tiny_workspace, tmp_path, capsys):
    assert main(["metrics", str(tiny_workspace), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "cube.parquet").exists() and (tmp_path / "out" / "cube.json").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no staging left
