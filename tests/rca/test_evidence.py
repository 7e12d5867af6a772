"""Timing, scope, SHAP-shift evidence and roll-out grouping on small known answers."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from data.changes import ChangeEvent
from data.slices import parse_scope
from data.sources import open_workspace
from rca.candidates import event_candidates
from rca.evidence.scope import scope_evidence, traffic_overlaps
from rca.evidence.shap_shift import attribution_shift, distribution_shift, draw_sample, fit_attribution, psi
from rca.evidence.timing import Onset, mean_shift, timing_evidence
from rca.measures import Measures
from tests.rca.helpers import at_day, panel_records, write_workspace


def test_mean_shift_finds_a_step_with_an_interval():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(0, 1, 200), rng.normal(1.5, 1, 100)])
    cp = mean_shift(y)
    assert abs(cp.index - 200) <= 3
    assert cp.low <= 200 <= cp.high
    assert cp.before == pytest.approx(0, abs=0.2) and cp.after == pytest.approx(1.5, abs=0.3)


def test_timing_p_value_is_uniform_null_probability():
    t = datetime(2026, 1, 15, 14)
    onset = Onset(t, t - timedelta(hours=1), t + timedelta(hours=1), 0.9, 0.8, 50.0, timedelta(hours=1))
    start, end = t - timedelta(days=10), t + timedelta(days=10)
    near = timing_evidence(onset, t + timedelta(minutes=27), start, end)
    far = timing_evidence(onset, t - timedelta(days=3), start, end)
    assert near.supports and near.p_value < 0.005
    assert not far.supports and far.p_value == pytest.approx((2 * 72 + 1) / 480)


def test_psi_zero_for_same_and_large_for_moved():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 5000)
    assert psi(a, rng.normal(0, 1, 5000), False) < 0.01
    assert psi(a, rng.normal(1, 1, 5000), False) > 0.25
    assert psi(np.full(100, 2.0), np.full(100, 4.0), False) > 1.0  # a threshold moved from 2 to 4
    assert psi(np.array(["v2"] * 100), np.array(["v3"] * 60 + ["v2"] * 40), True) > 0.5


def test_roll_out_waves_become_one_staggered_candidate():
    t = datetime(2026, 1, 15)
    ev = lambda name, kind, scope, h: ChangeEvent(t + timedelta(hours=h), name, kind, parse_scope(scope))  # noqa: E731
    events = (ev("cutover_wave_1", "migration", "site=a;site=b", 0), ev("cutover_wave_2", "migration", "site=c", 30),
              ev("cutover_wave_3", "migration", "site=d", 60), ev("web_release_4", "release", "channel=web", 5),
              ev("web_release_9", "release", "channel=web", 50))
    cands = event_candidates(events, t - timedelta(days=1), t + timedelta(days=5))
    keys = [(c.key, len(c.cohorts)) for c in cands]
    assert ("cutover_wave_1", 3) in keys
    # same name stem but the same scope twice: not a roll-out, two changes
    assert ("web_release_4", 1) in keys and ("web_release_9", 1) in keys


@pytest.fixture(scope="module")
def driver_ws(tmp_path_factory):
    """The outcome y depends on x; x jumps by +1.5 in group g1 from day 12, with no change logged."""
    records = panel_records(seed=3, per_hour=1)
    moved = (records["grp"] == "g1") & (records["ts"] >= pd.Timestamp(at_day(12)))
    records.loc[moved, "x"] += 1.5
    records["y"] = records["y"] + 0.8 * records["x"]
    folder = tmp_path_factory.mktemp("driver")
    ow = open_workspace(write_workspace(folder / "ws", records, changes=[(at_day(12), "other_change", "deploy", "grp=g2")]))
    return ow, Measures.of(ow.workspace)


def test_shap_shift_attributes_the_change_to_the_moved_driver(driver_ws):
    ow, ms = driver_ws
    start, end = at_day(2), at_day(24)
    sample = draw_sample(ow, ms, start, end, 20_000, "grp = 'g1'", 10_000, cardinality={"unit": 120, "grp": 4, "side": 2})
    att = fit_attribution(sample, ms, "y_mean")
    t = sample.times()
    in_g1 = (sample.frame["grp"].astype(str) == "g1").to_numpy()
    split = np.datetime64(at_day(12))
    shift = attribution_shift(att, in_g1 & (t < split), in_g1 & (t >= split))
    share = shift.share("x")
    assert 0.8 < share < 1.2  # x carries the change (≈ 0.8 × 1.5 = 1.2 of the outcome)
    assert shift.low[shift.inputs.index("x")] > 0.9
    dist = distribution_shift(sample, "x", in_g1 & (t < split), in_g1 & (t >= split))
    assert dist.shifted and dist.after - dist.before == pytest.approx(1.5, abs=0.1)


def test_shap_values_equal_the_shap_package(driver_ws):
    """LightGBM's pred_contrib is TreeSHAP: the same numbers as shap.TreeExplainer."""
    shap = pytest.importorskip("shap")
    ow, ms = driver_ws
    sample = draw_sample(ow, ms, at_day(2), at_day(24), 5_000, cardinality={"unit": 120, "grp": 4, "side": 2})
    att = fit_attribution(sample, ms, "y_mean")
    rows = np.arange(200)
    ours = att.explain(rows)
    theirs = shap.TreeExplainer(att.booster).shap_values(att.X.iloc[rows])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_scope_jaccard_by_traffic(driver_ws):
    ow, _ = driver_ws
    focus = parse_scope("grp=g1")
    counts = traffic_overlaps(ow, at_day(12), at_day(24), focus,
                              {"same": parse_scope("grp=g1"), "other": parse_scope("grp=g2"), "all": (),
                               "half": parse_scope("grp=g1;grp=g2")})
    assert scope_evidence(counts["same"], (), focus).effect == 1.0
    assert scope_evidence(counts["other"], (), focus).effect == 0.0
    assert scope_evidence(counts["all"], (), focus).effect == pytest.approx(0.25, abs=0.03)
    assert scope_evidence(counts["half"], (), focus).effect == pytest.approx(0.5, abs=0.03)


def test_weighted_jaccard_counts_slices_by_their_share_of_the_change(driver_ws):
    """A broad slice carrying 10% of the change does not drown the narrow one carrying 90%."""
    from data.slices import Slice

    ow, _ = driver_ws
    focus = (Slice.parse("grp=g1", share=0.9), Slice.parse("side=a", share=0.1))
    counts = traffic_overlaps(ow, at_day(12), at_day(24), focus, {"g1": parse_scope("grp=g1")})
    ev = scope_evidence(counts["g1"], parse_scope("grp=g1"), focus)
    assert ev.detail.jaccard == pytest.approx(0.4, abs=0.05)
    assert ev.effect == pytest.approx(0.925, abs=0.02)


def test_confirmation_tells_a_step_from_ordinary_ups_and_downs():
    from rca.evidence.refute import confirmation_evidence

    rng = np.random.default_rng(4)
    hours = np.arange(28 * 24)
    noise = np.convolve(rng.normal(0, 1, len(hours) + 47), np.ones(48) / 48, "valid")  # slow wander, no step
    step = noise + np.where(hours >= 14 * 24, 1.0, 0.0)
    w = np.ones(len(hours))
    real = confirmation_evidence(step, w, hours, 14 * 24, +1.0, width_h=48, step_h=6)
    assert real.supports and real.p_value == pytest.approx(1 / (1 + real.detail.placebo_splits))
    fake = confirmation_evidence(noise, w, hours, int(np.argmax(np.abs(np.diff(noise)))) + 1, +1.0, width_h=48, step_h=6)
    assert not fake.supports
