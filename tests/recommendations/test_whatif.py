"""The what-if simulator recovers a known structure; bad features and scopes are named; the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from backend.cli import main
from data.errors import UserError
from data.sources import open_workspace
from pydantic import TypeAdapter

from recommendations import DriverChange, WhatIfResult, parse_change, whatif
from tests.recommendations import sim


@pytest.fixture(scope="module")
def mixed_ws(tmp_path_factory):
    """The threshold varies at random (2, 3, 4) everywhere, so its effect can be learned from the data."""
    world = sim.simulate(11, orders=9000, threshold_mix=True)
    path = sim.write(world, tmp_path_factory.mktemp("mixed"), with_event=False)
    return world, open_workspace(path)


def _truth(world: sim.World, start, end, region: str, threshold=None, supply_factor: float = 1.0) -> dict:
    f = world.frame
    g = f[(f["region"] == region) & (f["created_at"] >= start) & (f["created_at"] < end)]
    counted = ~g["cancelled"].to_numpy()
    now_thr = g["batching_threshold"].to_numpy()
    new_thr = np.full(len(g), threshold) if threshold is not None else now_thr
    g_new = g.assign(courier_supply_ratio=g["courier_supply_ratio"] * supply_factor)
    p_now = 1 / (1 + np.exp(-sim.on_time_logit(g, now_thr)))
    p_new = 1 / (1 + np.exp(-sim.on_time_logit(g_new, new_thr)))
    minutes = sim.M_THRESH * (new_thr - now_thr) - 6 * (g_new["courier_supply_ratio"] - g["courier_supply_ratio"])
    return {"on_time_rate": float((p_new - p_now)[counted].mean()),
            "avg_delivery_minutes": float(np.asarray(minutes)[counted].mean()),
            "courier_minutes_per_order": float((sim.K_THRESH * (new_thr - now_thr))[counted].mean())}


def test_whatif_recovers_the_true_effect(mixed_ws):
    world, ow = mixed_ws
    result = whatif(ow, [DriverChange("batching_threshold", "set", 2), DriverChange("courier_supply_ratio", "scale", 1.1)],
                    "region=west", window_days=7, sample=9000, bootstrap=20)
    imp = result.impact
    truth = _truth(world, pd.Timestamp(imp.window_start), pd.Timestamp(imp.window_end), "west", 2, 1.1)
    for name, value in truth.items():
        mi = imp.metric(name)
        assert mi.method == "model"
        assert mi.interval.contains(value), (name, value, mi.interval)
        assert abs(mi.change - value) < 0.25 * abs(value)
    assert imp.metric("cx_score").interval.low < imp.metric("cx_score").change < imp.metric("cx_score").interval.high
    assert result.changes == ("batching_threshold set to 2", "courier_supply_ratio × 1.1")
    assert imp.orders_per_day > 0 and 0 < imp.scope_share < 1
    on_time = imp.metric("on_time_rate")
    assert on_time.per_day == pytest.approx(on_time.change * imp.orders_per_day, rel=0.1)
    assert json.loads(TypeAdapter(WhatIfResult).dump_json(result))["impact"]["changes"] == [
        {"feature": "batching_threshold", "op": "set", "value": 2.0},
        {"feature": "courier_supply_ratio", "op": "scale", "value": 1.1}]


@pytest.mark.parametrize("changes,scope,message", [
    ([DriverChange("batching", "set", 2)], "*", "'batching' is not a feature"),
    ([DriverChange("batching_threshold", "set", 2)], "regio=west", "'regio' is not a dimension"),
    ([DriverChange("batching_threshold", "set", 2)], "region=mars", "no records have region=mars"),
    ([DriverChange("app_version", "scale", 1.1)], "*", "'app_version' is categorical"),
    ([DriverChange("app_version", "set", "z")], "*", "app_version=z: not a value"),
    ([DriverChange("prep_minutes", "set", "fast")], "*", "'prep_minutes' is numeric"),
    ([], "*", "at least one change"),
])
def test_bad_input_is_named(sim_ws, changes, scope, message):
    with pytest.raises(UserError, match=message):
        whatif(sim_ws, changes, scope, model="glm", bootstrap=5)


def test_parse_change():
    assert parse_change("batching_threshold=2", "set") == DriverChange("batching_threshold", "set", 2.0)
    assert parse_change("app_version=b", "set") == DriverChange("app_version", "set", "b")
    assert parse_change("courier_supply_ratio=+10%", "scale").value == pytest.approx(1.1)
    assert parse_change("prep_minutes=-2", "shift") == DriverChange("prep_minutes", "shift", -2.0)
    with pytest.raises(UserError, match="FEATURE=VALUE"):
        parse_change("batching_threshold", "set")
    with pytest.raises(UserError, match="not a number"):
        parse_change("prep_minutes=abc", "scale")


def test_cli_whatif(sim_ws, capsys):
    path = str(sim_ws.workspace.source_file)
    code = main(["whatif", path, "--set", "batching_threshold=2", "--scale", "courier_supply_ratio=1.1",
                 "--scope", "region=west", "--model", "glm", "--bootstrap", "5", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changes"] == ["batching_threshold set to 2", "courier_supply_ratio × 1.1"]
    assert {m["metric"] for m in out["impact"]["metrics"]} == {m["name"] for m in sim.METRICS}
    assert main(["whatif", path, "--set", "batching_threshold=2", "--model", "glm", "--bootstrap", "5"]) == 0
    assert "on_time_rate" in capsys.readouterr().out
    assert main(["whatif", path, "--set", "nope=2"]) == 2
    assert "'nope' is not a feature" in capsys.readouterr().err
    assert main(["whatif", path, "--set", "batching_threshold=2", "--scope", "colour=red"]) == 2
    assert "'colour' is not a dimension" in capsys.readouterr().err
    assert main(["whatif", path, "--set", "batching_threshold=2", "--bootstrap", "2"]) == 2
    assert "bootstrap=2" in capsys.readouterr().err
