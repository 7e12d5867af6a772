"""Difference-in-differences, event study and refuters on synthetic panels with a known effect."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
import statsmodels.api as sm

from data.slices import Slice, parse_scope
from data.sources import open_workspace
from rca.evidence.did import Cohort, Untestable, fit_did, wls_cluster
from rca.evidence.refute import placebo_scope_evidence, placebo_time_evidence
from rca.measures import Measures
from rca.panel import load_panel
from tests.rca.helpers import at_day, panel_records, write_workspace

START, END = datetime(2026, 2, 2), datetime(2026, 2, 26)


def _open(tmp_path_factory, name, **kwargs):
    folder = tmp_path_factory.mktemp(name)
    ow = open_workspace(write_workspace(folder / "ws", panel_records(**kwargs)))
    return ow, Measures.of(ow.workspace)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """Group g0 drops by 0.5 from day 12 (the metric's good direction is down: a rise would be bad)."""
    ow, ms = _open(tmp_path_factory, "single", per_hour=1,
                   effects={lambda u, g: g == "g0": (12, lambda d: -0.5 + 0 * d)})
    return ow, ms, load_panel(ow, ms, ("unit",), ("grp",), START, END)


def test_numpy_solver_equals_statsmodels_cluster_robust():
    rng = np.random.default_rng(1)
    n, k = 2000, 5
    X = rng.normal(size=(n, k))
    w = rng.uniform(0.5, 2, n)
    clusters = rng.integers(0, 60, n)
    y = X @ np.arange(k) + rng.normal(size=n) + rng.normal(size=60)[clusters]
    beta, cov = wls_cluster(y, X, w, clusters)
    ref = sm.WLS(y, X, weights=w).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    np.testing.assert_allclose(beta, ref.params, rtol=1e-10)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-8)


def test_did_recovers_a_known_effect(single):
    ow, ms, panel = single
    cohorts = [Cohort("c", parse_scope("grp=g0"), at_day(12))]
    fit = fit_did(panel, ms, "y_mean", cohorts, pre=7, post=7, solver="statsmodels")
    fast = fit_did(panel, ms, "y_mean", cohorts, pre=7, post=7)
    assert fit.interval.contains(-0.5)
    assert fit.p_value < 1e-6
    assert fit.treated_units == 30 and fit.control_units == 90 and fit.clusters == 120
    assert fast.effect == pytest.approx(fit.effect, rel=1e-9) and fast.se == pytest.approx(fit.se, rel=1e-6)


def test_did_finds_nothing_where_nothing_happened(single):
    ow, ms, panel = single
    fit = fit_did(panel, ms, "y_mean", [Cohort("c", parse_scope("grp=g2"), at_day(12))], pre=7, post=7)
    # g2 is compared with controls that include the treated g0, so its estimate is the mirror of a
    # third of the real effect: small, and of the opposite sign to a regression
    assert fit.effect > -0.05


def test_a_global_change_is_untestable(single):
    ow, ms, panel = single
    with pytest.raises(Untestable):
        fit_did(panel, ms, "y_mean", [Cohort("c", (), at_day(12))], pre=7, post=7)


def test_event_study_leads_are_flat_and_lags_carry_the_effect(single):
    ow, ms, panel = single
    es = fit_did(panel, ms, "y_mean", [Cohort("c", parse_scope("grp=g0"), at_day(12))], pre=7, post=7,
                 event_study=True)
    leads = [b for k, b, _ in es.event_study if k < -1]
    lags = [b for k, b, _ in es.event_study if k >= 0]
    assert es.pretrend_p > 0.01
    assert max(abs(b) for b in leads) < 0.1
    assert all(abs(b + 0.5) < 0.1 for b in lags)


def test_event_study_flags_a_pretrend(tmp_path_factory):
    ow, ms = _open(tmp_path_factory, "pretrend", per_hour=1, pretrend=0.08,
                   effects={lambda u, g: g == "g0": (12, lambda d: -0.5 + 0 * d)})
    panel = load_panel(ow, ms, ("unit",), ("grp",), START, END)
    es = fit_did(panel, ms, "y_mean", [Cohort("c", parse_scope("grp=g0"), at_day(12))], pre=7, post=7,
                 event_study=True)
    assert es.pretrend_p < 0.01


def test_stacked_did_with_heterogeneous_staggered_cohorts(tmp_path_factory):
    """Three waves with different effects: the stacked estimate is their average against clean controls."""
    waves = [("u000 u009", 8, -0.2), ("u010 u019", 10, -0.6), ("u020 u029", 12, -1.0)]
    effects = {}
    for span, day, size in waves:
        lo, hi = span.split()
        effects[lambda u, g, lo=lo, hi=hi: (u >= lo) & (u <= hi)] = (day, lambda d, s=size: s + 0 * d)
    ow, ms = _open(tmp_path_factory, "staggered", per_hour=1, effects=effects)
    panel = load_panel(ow, ms, ("unit",), ("unit",), START, END)
    cohorts = []
    for i, (span, day, _) in enumerate(waves):
        lo, hi = (int(x[1:]) for x in span.split())
        cohorts.append(Cohort(f"w{i}", tuple(Slice((("unit", f"u{u:03d}"),)) for u in range(lo, hi + 1)), at_day(day)))
    fit = fit_did(panel, ms, "y_mean", cohorts, pre=5, post=5)
    assert fit.interval.contains(-0.6)
    # every wave is compared only with never-treated units (the other waves start inside its window)
    assert fit.control_units == 3 * 90
    # the first wave alone, with later waves excluded from its controls, recovers its own effect
    first = fit_did(panel, ms, "y_mean", cohorts[:1], pre=5, post=2)
    assert first.interval.contains(-0.2)


def test_refuters_pass_a_real_effect_and_fail_a_decoy(single):
    ow, ms, panel = single
    real = [Cohort("real", parse_scope("grp=g0"), at_day(12))]
    fit = fit_did(panel, ms, "y_mean", real, pre=7, post=7)
    sign = -1.0
    pt = placebo_time_evidence(panel, ms, "y_mean", real, fit, sign, 7, 7, 24)
    ps = placebo_scope_evidence(panel, ms, "y_mean", real, fit, sign, 7, 7, 24)
    assert pt.supports and ps.supports
    assert pt.p_value <= 1 / (1 + len(pt.detail.placebo_z))
    decoy = [Cohort("decoy", parse_scope("grp=g3"), at_day(12))]
    dfit = fit_did(panel, ms, "y_mean", decoy, pre=7, post=7)
    dps = placebo_scope_evidence(panel, ms, "y_mean", decoy, dfit, sign, 7, 7, 24)
    assert not dps.supports  # the real g0 effect, as a placebo, beats the decoy's
