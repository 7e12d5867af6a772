"""Every detector on synthetic series with a known answer: steps, ramps and spikes are found (and dated);
seasonal series without a change, small slices with one failure and over-dispersed noise do not alarm."""

from __future__ import annotations

import numpy as np
import pytest

from detection.detectors import (
    CUSUM,
    EWMA,
    RobustZScore,
    SeasonalBaseline,
    ZScore,
    excursions,
)
from detection.panel import Panel
from detection.scan import runs

WEEK = 168
T_BASE, T_WIN = 2 * WEEK, 2 * WEEK
HOURS = np.arange(T_BASE + T_WIN) % 24
VOLUME = 1.0 + 0.8 * np.sin(2 * np.pi * HOURS / 24)  # busy afternoons, quiet nights
DETECTORS = {
    "zscore": lambda **kw: ZScore(**kw),
    "robust_z": lambda **kw: RobustZScore(**kw),
    "ewma": lambda **kw: EWMA(**kw),
    "cusum": lambda **kw: CUSUM(**kw),
}


def rate_panel(rng, slices: int, orders_per_hour: float, effect=None, tau: float = 0.0, rho: float = 0.0) -> Panel:
    """On-time-like rates (≈ 0.85, with a daily cycle); ``effect(t)`` multiplies the rate from the window on."""
    n = rng.poisson(orders_per_hour * VOLUME, (slices, len(HOURS))).astype(float)
    p = 0.85 + 0.05 * np.cos(2 * np.pi * HOURS / 24) * np.ones((slices, 1))
    if tau:
        shock = np.zeros_like(p)
        eps = rng.normal(0, tau * np.sqrt(1 - rho ** 2), p.shape)
        for t in range(1, p.shape[1]):
            shock[:, t] = rho * shock[:, t - 1] + eps[:, t]
        p = p + shock
    if effect is not None:
        p = p * effect(np.arange(len(HOURS)))[None, :]
    return Panel.from_rates(rng.binomial(n.astype(int), np.clip(p, 0.001, 0.999)), n)


def mean_panel(rng, slices: int, orders_per_hour: float, effect=None) -> Panel:
    """Delivery-minutes-like means (≈ 35 min, sd 8 per order, daily cycle)."""
    n = rng.poisson(orders_per_hour * VOLUME, (slices, len(HOURS))).astype(float)
    mu = 35 + 4 * np.sin(2 * np.pi * HOURS / 24) * np.ones((slices, 1))
    if effect is not None:
        mu = mu * effect(np.arange(len(HOURS)))[None, :]
    values = rng.normal(mu, 8 / np.sqrt(np.maximum(n, 1)))
    return Panel.from_values(values, n=n, sd=8.0)


def split(panel: Panel) -> tuple[Panel, Panel]:
    return panel.columns(0, T_BASE), panel.columns(T_BASE, T_BASE + T_WIN)


STEP_AT = T_BASE + 100


def step(size: float):
    return lambda t: np.where(t >= STEP_AT, 1.0 + size, 1.0)


def ramp(size: float):
    return lambda t: 1.0 + size * np.clip((t - STEP_AT) / 72.0, 0.0, 1.0)


def spike(size: float, length: int = 2):
    return lambda t: np.where((t >= STEP_AT) & (t < STEP_AT + length), 1.0 + size, 1.0)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20260105)


# -- no change: no alarm -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DETECTORS))
@pytest.mark.parametrize("kind", ["rate", "mean"])
def test_seasonal_series_without_change_do_not_alarm(rng, name, kind):
    panel = (rate_panel if kind == "rate" else mean_panel)(rng, 300, 40)
    base, window = split(panel)
    scores = DETECTORS[name](side="both").fit(base).score(window)
    assert scores.p_value.min() > 1e-4, "no series is anywhere near a scan-level discovery"
    assert (scores.p_value < 0.01).mean() <= 0.02, "p-values are valid (at most ~1 % below 0.01)"


@pytest.mark.parametrize("name", ["zscore", "ewma", "cusum"])
def test_over_dispersed_autocorrelated_noise_does_not_alarm(rng, name):
    """Hourly shocks (sd 2 points, AR 0.8) on top of binomial noise: the over-dispersion and its
    autocorrelation are learned from the baseline, so long sums are not mistaken for shifts."""
    panel = rate_panel(rng, 300, 200, tau=0.02, rho=0.8)
    base, window = split(panel)
    model = SeasonalBaseline().fit(base)
    assert 0.012 < np.sqrt(np.median(model.tau2_)) < 0.03
    assert 0.6 < model.rho_[0] < 0.95
    scores = DETECTORS[name](side="down").fit(base).score(window)
    assert (scores.p_value < 0.01).mean() <= 0.03  # 1 % expected; 300 series leave room for chance
    assert scores.p_value.min() > 1e-5


# -- changes: found, on the right side, dated --------------------------------------------------------


@pytest.mark.parametrize("name", ["ewma", "cusum"])
@pytest.mark.parametrize("kind", ["rate", "mean"])
def test_step_is_found_and_dated(rng, name, kind):
    make = rate_panel if kind == "rate" else mean_panel
    size = 0.08 if name == "cusum" else 0.2  # the CUSUM accumulates; the EWMA forgets after ~10 hours
    size = -size if kind == "rate" else size  # on-time falls, minutes rise
    side = "down" if kind == "rate" else "up"
    panel = make(rng, 40, 40, effect=step(size))
    base, window = split(panel)
    detector = DETECTORS[name](side=side, tolerance=0.02).fit(base)
    scores = detector.score(window)
    assert (scores.p_value < 1e-6).mean() >= 0.9
    flags = detector.flag(scores, 1e-6)
    first = np.array([np.flatnonzero(f)[0] for f in flags if f.any()])
    if name == "cusum":  # the CUSUM dates the change from its last zero: within a few hours
        assert np.median(np.abs(first - (STEP_AT - T_BASE))) <= 6
    else:
        assert np.median(first - (STEP_AT - T_BASE)) <= 30


def test_the_other_side_does_not_alarm(rng):
    """An improvement is not a regression: a one-sided detector ignores it."""
    panel = rate_panel(rng, 40, 40, effect=step(+0.08))
    base, window = split(panel)
    for name in ("zscore", "ewma", "cusum"):
        assert DETECTORS[name](side="down").fit(base).score(window).p_value.min() > 1e-3


@pytest.mark.parametrize("name", ["ewma", "cusum"])
def test_ramp_is_found(rng, name):
    panel = rate_panel(rng, 40, 40, effect=ramp(-0.12))
    base, window = split(panel)
    scores = DETECTORS[name](side="down", tolerance=0.02).fit(base).score(window)
    assert (scores.p_value < 1e-6).mean() >= 0.9


@pytest.mark.parametrize("name", ["zscore", "robust_z"])
def test_spike_is_found_by_the_bucket_detectors(rng, name):
    panel = mean_panel(rng, 40, 200, effect=spike(0.25))
    base, window = split(panel)
    detector = DETECTORS[name](side="up").fit(base)
    scores = detector.score(window)
    assert (scores.p_value < 1e-6).mean() >= 0.9
    flags = detector.flag(scores, 1e-6)
    assert flags[:, STEP_AT - T_BASE].mean() >= 0.9 and flags[:, : STEP_AT - T_BASE].sum() == 0


def test_tolerance_ignores_small_but_significant_drift(rng):
    """A 1 % drift in a huge slice is statistically clear but below min_relative_change = 2 %."""
    panel = mean_panel(rng, 10, 5000, effect=step(0.01))
    base, window = split(panel)
    assert CUSUM(side="up", tolerance=0.0, shifts=(0.01, 0.04)).fit(base).score(window).p_value.max() < 1e-6
    assert CUSUM(side="up", tolerance=0.02).fit(base).score(window).p_value.min() > 0.01


# -- small counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_small_slice_does_not_alarm_on_one_failure(rng, name):
    """A slice with 12 orders in the window and a 0.2 % failure rate sees one late delivery."""
    n = np.zeros((1, T_BASE + T_WIN))
    n[0, :T_BASE:3] = 1.0  # a trickle of baseline orders: 112 orders, no failure
    x = n.copy()
    n[0, T_BASE + 100: T_BASE + 112] = 1.0  # 12 window orders ...
    x[0, T_BASE + 100: T_BASE + 112] = 1.0
    x[0, T_BASE + 105] = 0.0  # ... one of them late
    panel = Panel.from_rates(x, n)
    panel_base, window = split(panel)
    assert DETECTORS[name](side="down").fit(panel_base).score(window).p_value.min() > 0.05


def test_sparse_rare_events_keep_valid_p_values(rng):
    """Half an order an hour at a 3 % failure rate: sparse, skewed counts do not produce false alarms."""
    n = rng.poisson(0.5 * VOLUME, (500, len(HOURS))).astype(float)
    panel = Panel.from_rates(n - rng.binomial(n.astype(int), 0.03), n)
    base, window = split(panel)
    for name in ("zscore", "ewma", "cusum"):
        assert (DETECTORS[name](side="down").fit(base).score(window).p_value < 0.01).mean() <= 0.01


# -- the estimator interface -------------------------------------------------------------------------


def test_estimator_interface(rng):
    panel = rate_panel(rng, 5, 40)
    base, window = split(panel)
    det = CUSUM(side="down", tolerance=0.02)
    assert det.get_params()["tolerance"] == 0.02 and not det.is_fitted
    with pytest.raises(RuntimeError, match="not fitted"):
        det.score(window)
    assert det.fit(base) is det and det.model_.tau2_.shape == (5,)
    with pytest.raises(ValueError, match="slices"):
        det.score(window.rows(np.arange(3)))
    with pytest.raises(ValueError, match="side"):
        ZScore(side="sideways").fit(base)
    with pytest.raises(ValueError, match="exceed the tolerance"):
        CUSUM(shifts=(0.01,), tolerance=0.02).fit(base)
    clone = det.clone()
    assert clone.get_params() == det.get_params() and not clone.is_fitted


def test_a_prefit_model_is_shared_not_refitted(rng):
    panel = rate_panel(rng, 5, 40)
    base, window = split(panel)
    model = SeasonalBaseline().fit(base)
    ewma = EWMA(model=model, refit=False).fit(base)
    assert ewma.model_ is model
    assert EWMA(model=model).fit(base).model_ is not model


def test_seasonal_expectation_follows_the_daily_cycle(rng):
    panel = mean_panel(rng, 3, 400)
    base, window = split(panel)
    expected = SeasonalBaseline().fit(base).expected(window)
    truth = 35 + 4 * np.sin(2 * np.pi * HOURS[T_BASE:] / 24)
    assert np.abs(expected - truth).max() < 1.0


def test_daily_grain_uses_day_of_week():
    rng = np.random.default_rng(3)
    days = 56
    dow = np.arange(days) % 7
    n = np.full((20, days), 2000.0)
    p = np.where(dow >= 5, 0.80, 0.88) * np.ones((20, 1))  # weekends are worse, every week
    p[:, 42:] *= 0.9  # and the last two weeks are worse still
    panel = Panel.from_rates(rng.binomial(n.astype(int), p), n, grain="day")
    base, window = panel.columns(0, 28), panel.columns(28, 56)
    scores = CUSUM(side="down", tolerance=0.02).fit(base).score(window)
    flags = CUSUM(side="down", tolerance=0.02).fit(base).flag(scores, 1e-6)
    assert (scores.p_value < 1e-6).all()
    assert not flags[:, :14].any(), "weekends alone are seasonality, not a regression"


# -- helpers -------------------------------------------------------------------------------------------


def test_excursions_span_from_last_zero_to_peak():
    path = np.array([[0, 1, 2, 0, 3, 5, 4, 0, 1, 0.5]], dtype=float)
    assert excursions(path, 4.0).tolist() == [[False, False, False, False, True, True, False, False, False, False]]
    assert excursions(path, 1.5).tolist() == [[False, True, True, False, True, True, False, False, False, False]]


def test_runs_bridge_short_gaps():
    flags = np.array([[1, 1, 0, 0, 1, 0, 0, 0, 0, 1]], dtype=bool)
    rows, starts, stops = runs(flags, gap=2)
    assert list(zip(rows, starts, stops)) == [(0, 0, 5), (0, 9, 10)]
    _, starts, stops = runs(flags, gap=0)
    assert list(zip(starts, stops)) == [(0, 2), (4, 5), (9, 10)]
