"""Known-answer tests for detection.changepoint on synthetic signals, and the estimators' API."""

from __future__ import annotations

import numpy as np
import pytest
import ruptures as rpt

from detection.changepoint import (
    MIN_SERIES_LENGTH,
    ARChangepoints,
    BayesianOnlineChangepoints,
    CostWeightedAR1,
    PeltChangepoints,
    _pelt,
    _seasonal_candidates,
    changepoints,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def steps(n: int, at: list[int], sizes: list[float], seed: int = 0) -> np.ndarray:
    y = rng(seed).normal(size=n)
    for t, size in zip(at, sizes):
        y[t:] += size
    return y


def near(found: list[int], truth: list[int], tol: int = 3) -> bool:
    return len(found) == len(truth) and all(abs(f - t) <= tol for f, t in zip(found, truth))


# ---- the default: changepoints() ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_single_step_is_found_within_3(seed):
    assert near(changepoints(steps(200, [120], [3.0], seed)), [120])


def test_two_steps_up_and_down():
    assert near(changepoints(steps(300, [100, 200], [4.0, -3.0], seed=1)), [100, 200])


def test_variance_change_is_found():
    y = rng(2).normal(size=300)
    y[150:] *= 4.0
    assert near(changepoints(y), [150], tol=5)


def test_trend_change_is_found():
    # slope +0.05 -> -0.1 per step under white noise of SD 0.1 (at SD 0.2 the AR(1) model,
    # which sees a trend as drift, no longer pays for the change: see the module docstring)
    t = np.arange(200.0)
    y = np.where(t < 100, 0.05 * t, 5.0 - 0.1 * (t - 100)) + 0.1 * rng(0).normal(size=200)
    assert near(changepoints(y), [100], tol=5)


@pytest.mark.parametrize("seed", range(4))
def test_pure_noise_has_at_most_one_changepoint(seed):
    white = rng(seed).normal(size=300)
    walk = np.cumsum(rng(seed + 10).normal(size=300))  # autocorrelated, still no change
    assert len(changepoints(white)) <= 1
    assert len(changepoints(walk)) <= 1


def test_isolated_outliers_are_not_changepoints():
    y = rng(4).normal(size=200)
    y[[50, 51, 130]] += 12.0
    assert changepoints(y) == []
    est = ARChangepoints().fit(y)
    assert set(np.flatnonzero(est.outliers_[:, 0])) >= {50, 51, 130}


@pytest.mark.parametrize("seed", range(3))
def test_sparse_counts(seed):
    # runs of zeros in small counts are rounding of a low rate, not quiet segments
    r = rng(seed)
    assert changepoints(r.poisson(0.3, 200)) == []
    assert near(changepoints(r.poisson(np.r_[np.full(150, 0.5), np.full(150, 4.0)])), [150], tol=5)


@pytest.mark.parametrize("seed", range(3))
def test_indicator_series(seed):
    # a two-valued series is segmented as Bernoulli: runs of a fair coin are not changes
    r = rng(seed)
    assert changepoints((r.random(300) < 0.5) * 1.0) == []
    rate_change = (r.random(300) < np.r_[np.full(150, 0.2), np.full(150, 0.7)]) * 1.0
    assert near(changepoints(rate_change), [150], tol=10)  # 0/1 data locate a change loosely
    est = ARChangepoints().fit(np.r_[np.zeros(40), np.ones(40)] * 5.0 + 3.0)  # a clean switch
    assert est.changepoints_ == [40] and est.start_ == "bernoulli"
    assert est.penalty_ == pytest.approx(2 * np.log(80))


def test_constant_series_has_none():
    assert changepoints(np.full(100, 3.5)) == []
    assert changepoints(np.zeros(50)) == []


def test_constant_segments_step():
    y = np.r_[np.zeros(40), np.ones(40)]
    assert near(changepoints(y), [40], tol=1)


def test_short_series_has_none():
    for n in range(MIN_SERIES_LENGTH):
        assert changepoints(np.arange(float(n)) ** 3) == []


def test_nans_are_missing_values():
    y = steps(200, [120], [3.0], seed=3)
    y[rng(5).choice(200, 20, replace=False)] = np.nan
    y[:3] = np.nan
    y[40:60] = np.nan  # a long gap
    found = changepoints(y)
    assert near(found, [120])
    assert all(isinstance(c, int) for c in found)


def test_all_nan_has_none():
    assert changepoints(np.full(30, np.nan)) == []


def test_list_input_and_index_convention():
    y = [0.0] * 30 + [5.0] * 30
    found = changepoints(y)
    assert found == [30]  # the first point of the new segment
    assert all(0 < c < len(y) for c in found)


def test_multivariate_input_shares_changepoints():
    r = rng(6)
    y = r.normal(size=(240, 2))
    y[80:, 0] += 3.0
    y[160:, 1] -= 3.0
    assert near(changepoints(y), [80, 160])


@pytest.mark.parametrize("bad, message", [
    (np.array([1.0, np.inf] + [0.0] * 20), "infinite"),
    (np.zeros((4, 4, 4)), "1-D"),
    (np.zeros((20, 0)), "no columns"),
    (["a", "b"], "numbers"),
])
def test_bad_input_raises_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        changepoints(bad)


# ---- ARChangepoints ----------------------------------------------------------------------------


def test_ar_estimator_api():
    y = steps(150, [70], [3.0])
    est = ARChangepoints()
    assert est.fit(y) is est
    bkps = est.predict()
    assert bkps[-1] == 150 and near(bkps[:-1], [70])
    assert est.changepoints_ == bkps[:-1]
    assert est.dof_.shape == (1,) and est.dof_[0] >= 1
    assert est.start_ in ("gaussian", "single-segment")
    assert est.penalty_ == pytest.approx(4 * np.log(150))


def test_heavy_tailed_jump_process_is_one_segment():
    # a balance that moves only by sparse large jumps: heavy-tailed innovations, not changes
    r = rng(7)
    jumps = np.where(r.random(400) < 0.05, r.normal(0, 5, 400), r.normal(0, 0.01, 400))
    est = ARChangepoints().fit(np.cumsum(jumps))
    assert len(est.changepoints_) <= 1
    assert est.dof_[0] < 10


@pytest.mark.parametrize("params, message", [
    ({"min_size": 1}, "min_size"),
    ({"min_size": 2.5}, "min_size"),
    ({"penalty": "aic"}, "penalty"),
    ({"penalty": -1.0}, "penalty"),
    ({"noise_floor": 0.0}, "noise_floor"),
    ({"outlier_threshold": 0}, "outlier_threshold"),
    ({"max_iter": 0}, "max_iter"),
    ({"seasonal": 1}, "seasonal"),
    ({"seasonal": 12.0}, "seasonal"),
    ({"seasonal": "monthly"}, "seasonal"),
])
def test_ar_validation_happens_in_fit(params, message):
    est = ARChangepoints(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=message):
        est.fit(np.zeros(50))


def test_predict_before_fit_raises():
    for est in (ARChangepoints(), PeltChangepoints(), BayesianOnlineChangepoints()):
        with pytest.raises(RuntimeError, match="not fitted"):
            est.predict()


def test_vectorized_pelt_matches_ruptures():
    r = rng(8)
    y = steps(120, [40, 85], [2.5, -2.0], seed=8)
    weights = r.uniform(0.2, 1.5, size=(120, 1))
    observed = r.random((120, 1)) > 0.05
    for pen in (5.0, 20.0):
        cost = CostWeightedAR1(weights, 1e-4, 5, observed).fit(y)
        ours = _pelt(cost, 120, pen, 5)
        algo = rpt.Pelt(custom_cost=CostWeightedAR1(weights, 1e-4, 5, observed), min_size=5, jump=1)
        theirs = algo.fit(y).predict(pen=pen)
        assert ours == theirs
        assert cost.sum_of_costs(ours) == pytest.approx(cost.sum_of_costs(theirs))


# ---- PeltChangepoints --------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["l2", "normal"])
@pytest.mark.parametrize("search", ["pelt", "binseg"])
def test_pelt_estimator_finds_steps(model, search):
    y = steps(120, [40, 80], [4.0, -4.0], seed=9)
    est = PeltChangepoints(model=model, search=search)
    assert est.fit(y) is est
    assert near(est.changepoints_, [40, 80])
    assert est.predict() == est.changepoints_ + [120]
    assert est.predict(pen=1e9) == [120]  # fit once, sweep the penalty


def test_pelt_bic_penalty_and_noise_scale():
    y = steps(120, [60], [3.0], seed=10) * 7.0
    est = PeltChangepoints(model="l2", search="binseg").fit(y)
    assert est.penalty_ == pytest.approx(2 * np.log(120))
    assert est.noise_scale_[0] == pytest.approx(7.0, rel=0.25)  # robust to the step


@pytest.mark.parametrize("params, message", [
    ({"model": "rbf"}, "model"),
    ({"search": "dynp"}, "search"),
    ({"jump": 0}, "jump"),
    ({"penalty": "mbic"}, "penalty"),
])
def test_pelt_validation_happens_in_fit(params, message):
    est = PeltChangepoints(**params)
    with pytest.raises(ValueError, match=message):
        est.fit(np.zeros(50))


# ---- BayesianOnlineChangepoints ----------------------------------------------------------------


def test_bocpd_finds_a_step_and_the_run_length_resets():
    y = steps(200, [120], [4.0], seed=11)
    est = BayesianOnlineChangepoints()
    assert est.fit(y) is est
    assert near(est.changepoints_, [120])
    assert est.predict() == est.changepoints_ + [200]
    post = est.run_length_posterior_
    assert post.shape == (200, 200)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    assert np.all(np.triu(post, k=1) == 0)  # r_t <= t
    assert est.map_run_length_[119] >= 100  # long run before the step ...
    assert est.map_run_length_[130] <= 15  # ... reset after it
    prob = est.changepoint_probability_
    assert prob[0] == 1.0  # the first observation always opens a segment
    assert abs(1 + int(np.argmax(prob[1:])) - 120) <= 3
    assert prob[1:].max() > 0.5
    assert np.isfinite(est.log_evidence_)


def test_bocpd_no_change_and_nans():
    y = rng(12).normal(size=150)
    y[rng(13).choice(150, 15, replace=False)] = np.nan
    est = BayesianOnlineChangepoints().fit(y)
    assert len(est.changepoints_) <= 1
    np.testing.assert_allclose(est.run_length_posterior_.sum(axis=1), 1.0)


@pytest.mark.parametrize("params, message", [
    ({"hazard_lambda": 0.5}, "hazard_lambda"),
    ({"kappa0": 0}, "kappa0"),
    ({"delay": -1}, "delay"),
    ({"threshold": 1.5}, "threshold"),
])
def test_bocpd_validation_happens_in_fit(params, message):
    est = BayesianOnlineChangepoints(**params)
    with pytest.raises(ValueError, match=message):
        est.fit(np.zeros(50))


# ---- seasonality -------------------------------------------------------------------------------

MONTHLY = np.array([0.0, 1, 3, 2, 0, -1, -2, -4, -2, 0, 1, 2])
MONTHLY -= MONTHLY.mean()  # an annual profile spanning about 7 noise SDs, not a sinusoid


def seasonal(n: int, seed: int, shift_at: int | None = None, shift: float = 0.0,
             ar: float = 0.0) -> np.ndarray:
    """MONTHLY repeated, plus AR(ar) noise with unit innovations, plus an optional level shift."""
    e = rng(seed).normal(size=n)
    for t in range(1, n):
        e[t] += ar * e[t - 1]
    y = np.resize(MONTHLY, n) + e
    if shift_at is not None:
        y[shift_at:] += shift
    return y


@pytest.mark.parametrize("seed", range(3))
def test_level_shift_in_a_seasonal_series_is_found_within_3(seed):
    y = seasonal(240, seed, shift_at=150, shift=2.0)  # 2 noise SDs, small against the season
    est = ARChangepoints().fit(y)
    assert est.period_ == 12 and est.seasonal_gain_ > 0
    assert near(est.changepoints_, [150])
    assert changepoints(y) == est.changepoints_
    # without the seasonal term the AR(1) absorbs the cycle and the shift drowns in it
    assert not near(ARChangepoints(seasonal=False).fit(y).changepoints_, [150])


@pytest.mark.parametrize("seed", range(3))
def test_seasonal_series_without_change_has_none(seed):
    y = seasonal(240, seed, ar=0.5)
    est = ARChangepoints().fit(y)
    assert est.changepoints_ == []
    assert est.period_ == 12
    assert np.abs(est.seasonal_[:12, 0] - MONTHLY).max() < 1.0  # the profile, in input units
    assert np.allclose(est.seasonal_[12:24], est.seasonal_[:12])


@pytest.mark.parametrize("kind", ["white", "ar0.9", "walk", "step", "t3", "sine27.3"])
def test_non_seasonal_series_is_not_treated_as_seasonal(kind):
    r = rng(11)
    n = 300
    y = {
        "white": r.normal(size=n),
        "ar0.9": np.array([0.0]),
        "walk": np.cumsum(r.normal(size=n)),
        "step": steps(n, [180], [3.0], seed=11),
        "t3": r.standard_t(3, size=n),
        # a cycle that is not an integer period: the AR(1) follows it, no profile fits it
        "sine27.3": 2 * np.sin(2 * np.pi * np.arange(n) / 27.3) + r.normal(size=n),
    }[kind]
    if kind == "ar0.9":
        e = r.normal(size=n)
        y = np.zeros(n)
        for t in range(1, n):
            y[t] = 0.9 * y[t - 1] + e[t]
    est = ARChangepoints().fit(y)
    assert est.period_ == 0 and not est.seasonal_.any()
    assert not est.seasonal_gain_ > 0  # NaN (nothing proposed) or a loss
    assert est.changepoints_ == ARChangepoints(seasonal=False).fit(y).changepoints_


def test_known_period_and_missing_values():
    # a smooth (sinusoidal) season: its highest autocorrelation peak need not sit on lag 12,
    # but a known period is tested directly
    r = rng(5)
    y = 2.0 * np.sin(2 * np.pi * np.arange(240) / 12) + r.normal(size=240)
    y[[30, 31, 100]] = np.nan
    est = ARChangepoints(seasonal=12).fit(y)
    assert est.period_ == 12 and est.changepoints_ == []
    assert np.isfinite(est.seasonal_).all()
    # fewer than SEASONAL_MIN_CYCLES cycles: the period is not tested at all
    short = ARChangepoints(seasonal=100).fit(y)
    assert short.period_ == 0 and np.isnan(short.seasonal_gain_)


def test_seasonal_candidates_screen():
    z = seasonal(240, 0)[:, None]
    found = _seasonal_candidates(z)
    assert 12 in found and all(12 % p == 0 or p % 12 == 0 for p in found) and 2 not in found
    assert _seasonal_candidates(np.zeros((240, 1))) == []  # constant: nothing to screen
    assert _seasonal_candidates(z[:8]) == []  # too short for three cycles of any period >= 3
    # the two columns share the period
    assert 12 in _seasonal_candidates(np.column_stack([z[:, 0], seasonal(240, 1)]))


# ---- the TCPD benchmark's scorer loading (needs shared/) ---------------------------------------


def test_benchmark_loads_the_shared_scorer():
    from benchmarks import tcpd_changepoints as bench

    tcpd = bench.tcpd_dir(bench.shared_dir())
    if not (tcpd / "score_tcpd.py").is_file():
        pytest.skip(f"shared TCPD benchmark not found at {tcpd} (set CXW_SHARED)")
    scorer = bench.load_scorer(tcpd)
    _, published = bench.score(scorer, tcpd, bench.published_predictions(tcpd))
    assert published["n_datasets"] == 25
    assert published["mean_f1"] == pytest.approx(0.690, abs=5e-4)
    assert published["mean_cover"] == pytest.approx(0.655, abs=5e-4)
    series = bench.load_series(tcpd / "datasets")
    assert np.isnan(series["uk_coal_employ"]).sum() == 2 and series["run_log"].shape[1] == 2
