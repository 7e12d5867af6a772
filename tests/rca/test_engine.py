"""The engine on small known answers: decoys do not outrank the cause, drivers without a change are found,
nothing found is said plainly, and the workspace's `rca:` section is validated."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from data.errors import WorkspaceError
from data.slices import Slice
from data.sources import open_workspace
from detection.types import Interval, Regression
from rca.engine import HOUR, RcaOptions, _series_table, explain
from rca.measures import Measures
from tests.rca.helpers import at_day, panel_records, write_workspace


def _regression(scope: str, start, metric: str = "y_mean", direction: str = "up") -> Regression:
    nan = float("nan")
    slices = tuple(Slice.parse(s, share=1.0) for s in scope.split(";"))
    return Regression(id=f"r-{scope}", metric=metric, direction=direction, start=start, end=at_day(24), baseline=nan,
                      current=nan, change=nan, change_interval=Interval(nan, nan), relative_change=nan,
                      relative_interval=Interval(nan, nan), p_value=nan, q_value=nan, slice=Slice(()), slices=slices,
                      baseline_start=start - timedelta(days=10))


@pytest.fixture(scope="module")
def decoys(tmp_path_factory):
    """y rises by 0.6 in g0 from day 12 14:00; a same-kind decoy hits g2 27 minutes later; a global release
    lands 5 hours before; x moves in g1 from day 12 (y does not depend on x here)."""
    t = at_day(12) + timedelta(hours=14)
    records = panel_records(seed=5, per_hour=1, effects={lambda u, g: g == "g0": (12 + 14 / 24, lambda d: 0.6 + 0 * d)})
    folder = tmp_path_factory.mktemp("decoys")
    changes = [(t, "threshold_raise", "policy", "grp=g0"), (t + timedelta(minutes=27), "radius_cap", "policy", "grp=g2"),
               (t - timedelta(hours=5), "app_release_7", "release", "*"),
               (at_day(4), "old_change", "deploy", "grp=g0")]
    ow = open_workspace(write_workspace(folder / "ws", records, changes))
    return ow, t


def test_the_real_change_outranks_same_hour_and_global_decoys(decoys):
    ow, t = decoys
    incident = explain(ow, [_regression("grp=g0", t + timedelta(hours=2))])[0]
    names = [c.change_event for c in incident.causes]
    assert not incident.inconclusive
    assert names[0] == "threshold_raise" and incident.causes[0].hypothesis == "policy_change"
    assert incident.causes[0].confidence > 0.7
    for decoy in ("radius_cap", "app_release_7"):
        if decoy in names:
            assert incident.causes[names.index(decoy)].confidence < 0.3
    did = incident.causes[0].evidence["did"]
    assert did.interval.contains(0.6) and did.supports
    assert incident.causes[0].evidence["placebo_scope"].supports
    assert incident.causes[0].evidence["placebo_time"].supports


def test_a_regression_with_no_cause_is_inconclusive(decoys):
    ow, t = decoys
    incident = explain(ow, [_regression("grp=g3", t + timedelta(hours=2))])[0]
    assert incident.inconclusive
    assert any("inconclusive" in n for n in incident.notes)


def test_a_shifted_driver_with_no_change_is_the_cause(tmp_path_factory):
    records = panel_records(seed=6, per_hour=1)
    t = at_day(12) + timedelta(hours=10)
    moved = (records["grp"] == "g1") & (records["ts"] >= pd.Timestamp(t))
    records.loc[moved, "x"] += 1.5
    records["y"] = records["y"] + 0.5 * records["x"]
    folder = tmp_path_factory.mktemp("driver")
    ow = open_workspace(write_workspace(folder / "ws", records, [(t, "cache_flush", "ops", "grp=g2")]))
    incident = explain(ow, [_regression("grp=g1", t + timedelta(hours=1))])[0]
    top = incident.causes[0]
    assert (top.hypothesis, top.change_event, top.feature) == ("driver_shift", None, "x")
    assert [s.key for s in top.scope] == ["grp=g1"]
    assert top.evidence["shap"].supports and top.evidence["shap"].effect > 0.7
    assert abs(top.onset - t) <= timedelta(hours=2)
    # SHAP ran on a sample sized for the stated precision: the pilot's half-width h gives
    # pilot · (h / target)² rows per window, so the leading share's interval reaches the target unless capped
    sizing = top.evidence["shap"].detail.sample_sizing
    rows = top.evidence["shap"].detail.rows_before
    assert sizing.target_half_width == 0.05 and sizing.pilot_rows <= rows
    assert sizing.reached_half_width <= 0.05 * 1.5 or rows == RcaOptions().explain_rows
    assert f"on {rows:,} sampled records before" in top.evidence["shap"].rule
    # the change that does not fit is listed as ruled out, with the test that did it and its numbers
    ruled = {r.candidate: r for r in incident.rejected}
    assert "cache_flush" in ruled and ruled["cache_flush"].ruled_out_by in ("timing", "scope", "did", "placebo_scope")
    assert "? no →" in ruled["cache_flush"].reason


def test_the_series_table_of_many_scopes_is_exact_and_built_at_once(decoys):
    """Many regressions mean many scopes: the table is assembled in one go (no pandas fragmentation
    warning), and each scope's inside and outside counts add up to the total."""
    ow, _ = decoys
    ctx = SimpleNamespace(ow=ow, measures=Measures.of(ow.workspace), bucket=HOUR, start=at_day(0), end=at_day(24))
    focuses = [(Slice.parse(f"unit=u{u:03d}"), Slice.parse("grp=g1")) for u in range(40)] + [()]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        table, suffix = _series_table(ctx, focuses)
    assert len(suffix) == 41 and len(table) == 24 * 24
    counts = ow.con.execute("SELECT count(*), count(*) FILTER (WHERE unit = 'u007' OR grp = 'g1') FROM records").fetchone()
    assert table["n_all"].sum() == counts[0] and table[f"n_in{suffix[()]}"].sum() == counts[0]
    assert table[f"n_in{suffix[focuses[7]]}"].sum() == counts[1]
    sums = [c.removesuffix("_in0") for c in table.columns if c.startswith(("sx_", "sy_")) and c.endswith("_in0")]
    for c in sums:
        total = table[f"{c}_in{suffix[()]}"]
        np.testing.assert_allclose(table[f"{c}_in{suffix[focuses[3]]}"] + table[f"{c}_out{suffix[focuses[3]]}"], total)


def test_workspace_rca_options_are_validated():
    assert RcaOptions.from_workspace({"max_units": "500", "unit": "store"}).unit == ("store",)
    with pytest.raises(WorkspaceError, match="rca.colour: unknown key"):
        RcaOptions.from_workspace({"colour": 1}, "ws.yaml")
    with pytest.raises(WorkspaceError, match="rca.max_units"):
        RcaOptions.from_workspace({"max_units": "many"}, "ws.yaml")
    assert replace(RcaOptions(), seed=3).seed == 3
