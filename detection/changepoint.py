"""Change points in a metric series: the times at which its level, trend, dynamics or noise change.

``changepoints(values)`` is the default detector. It returns the 0-based index of the first
observation of every new segment (never 0, never ``len(values)``). Three estimators share the
ruptures-style API (``__init__`` stores parameters, ``fit(signal)`` validates and learns and
returns ``self``, learned attributes end in ``_``, ``predict()`` returns ruptures breakpoints,
i.e. the segment ends with ``n_samples`` last):

* ``ARChangepoints`` (the default behind ``changepoints``): penalized maximum likelihood for a
  piecewise AR(1) model with Student-t innovations, searched exactly by PELT.
* ``PeltChangepoints``: ruptures PELT or binary segmentation with a Gaussian cost and a BIC
  penalty computed from a robust noise estimate.
* ``BayesianOnlineChangepoints``: Bayesian online change-point detection with a Normal-Gamma
  model, exposing the run-length posterior and the change probability of every time step.

How the default was chosen. On the 25 univariate series that TCPDBench scores (TCPD, van den
Burg & Williams 2020, arXiv:2003.06222; ``benchmarks/tcpd_changepoints.py``) it reaches mean
F1 0.786 / cover 0.701 (0.780 / 0.677 without the seasonal component), against 0.690 / 0.655
for the best published default (binary segmentation) and 0.524 / 0.427 for ruptures Binseg
with a BIC penalty. Real operational series are autocorrelated, trending, seasonal,
heavy-tailed and occasionally spiky, so models assuming i.i.d. noise around a piecewise-constant
mean split them into dozens of segments whatever the criterion. Each part of the default
answers one of these properties with a standard model, not a tuned constant:

* autocorrelation and trends: each segment is an AR(1) regression ``y_t = a + b y_{t-1} + e_t``
  with its own intercept, coefficient and scale; a random walk with drift, a mean-reverting
  level and white noise around a mean are all special cases;
* heavy tails: the innovations are Student-t, with degrees of freedom shared by the segments of
  a column and estimated by maximum likelihood (Lange, Little & Taylor 1989, JASA 84:881), ECM;
  a sparse jump process (an account balance) is then one segment with heavy-tailed innovations
  rather than one segment per jump, while Gaussian data get large degrees of freedom;
* additive outliers (isolated spikes, which in an AR model corrupt two residuals and the
  regressor) are flagged by a Hampel identifier (7-point window, 5 robust SDs) and treated as
  missing: missing values and their AR terms leave the likelihood (they are interpolated only
  to keep the time axis);
* the number of segments is chosen by BIC (Schwarz 1978): ``(3 d + 1) log n`` per change
  (intercept, coefficient and scale per dimension, plus the location), searched exactly by PELT
  (Killick, Fearnhead & Eckley 2012, JASA 107:1590);
* the non-convex likelihood is maximized from two starts (all weights 1, i.e. Gaussian; and
  the weights of a single-segment t fit) and the start with the larger penalized likelihood wins;
* seasonality: the model may include a constant additive seasonal profile of period p shared by
  all segments (the segments are then those of the seasonally adjusted series). It is a model
  term like any other and is kept only when BIC prefers it: the penalized likelihood of the
  seasonal model, whose profile costs ``d (p - 1)`` parameters (seasonal dummies) at ``log n``
  each, must beat that of the model without it, both evaluated on the same observations and
  scale. The profile is the robust classical decomposition (per-phase medians of the series
  minus its centred moving average; Macaulay 1931, Kendall & Stuart vol. 3 ch. 46); it is not
  the maximum-likelihood estimate, so the comparison, if anything, under-rates the seasonal
  model. The period is proposed by a screen, not fitted to any series: the highest local
  maximum (lag 3 to n / 3, i.e. at least three cycles) of the autocorrelation of the first
  differences that exceeds the 1% white-noise bound (Bartlett 1946), together with the
  qualifying lags that divide it. On simulated series without seasonality (white, AR(0.5),
  Student-t(3), n = 100 to 500; 600 series) the seasonal model was never accepted; the five
  monthly TCPD series with a visible annual cycle (seatbelts, construction, businv,
  jfk_passengers, lga_passengers) all get period 12, with BIC margins of 59 to 448
  log-likelihood units, and every other TCPD series is left as before (the closest, run_log,
  misses acceptance by 17 units).

Two guards are engineering choices, stated here with their reasons: segments have at least 5
observations (3 parameters plus 2 residual degrees of freedom), and no segment is credited with
an innovation scale below 1% of the series' standard deviation, so a near-deterministic stretch
(a smooth official statistic, a balance that does not move for days) cannot buy a change point
with an arbitrarily small variance. For rounded or count data (three or more distinct values)
the floor is raised to the rounding variance of the recording grid (Sheppard's correction,
grid^2 / 12), so that runs of repeated values in small-count series are not mistaken for quiet
segments; on TCPD this never binds. A series whose columns all take exactly two values is an
indicator, not a measurement: it is segmented with a Bernoulli likelihood instead (BIC
``(d + 1) log n``). Neither is set per data set; the 1% was kept after a coarse
look at three floors on the benchmark, whose docstring reports how the scores move when either
guard, the penalty or the outlier window is varied.

Known blind spots: a trend is seen as drift of an AR(1), so a change of slope buried in white
noise is found less readily than by a piecewise-linear model, and a smooth slow cycle (a
business cycle) in a series whose noise is small is cut into pieces at its turns; the second
matters more once a seasonal profile has been removed, since the adjusted series is quieter
(businv gets a change at 140 that no annotator marks). Seasonality is conservative: seasonal dummies charge for every
harmonic, and a smooth, sinusoidal pattern may put its highest autocorrelation peak next to a
multiple of the period rather than on it, so weak or smooth seasonality is often left to the
AR(1) (amplitude 2 noise SDs, n = 240: accepted about one time in three); pass the period
(``ARChangepoints(seasonal=12)``) when the time index makes it known. The screen is also blind
to a period whose autocorrelation peak is split by a faster oscillation: quality_control_4
(a synthetic series with "multiple periodic components") has a period-20 component that BIC
would accept (margin 44) but that the screen, proposing 21 and 42, does not offer; once it is
removed the AR(1) cuts that series' slow residual wave into 8 segments (F1 0.78 -> 0.49), an
instance of the slow-cycle blind spot above. Seasonality is one profile for all segments:
a seasonal pattern that changes its amplitude at a change point is adjusted only on average.
In several columns (``d > 1``) every column pays its share of the penalty, so a column that
carries no changes makes the others' changes harder to accept, and the seasonal period is
shared by the columns.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import ruptures as rpt
from ruptures.base import BaseCost
from ruptures.costs import NotEnoughPoints
from scipy.special import gammaln, ndtri

MIN_SERIES_LENGTH = 10
"""Series shorter than this have no change points (``changepoints`` returns ``[]``)."""

_DOF_GRID = np.concatenate([np.geomspace(1.0, 1000.0, 31), [1e6]])
"""Candidate Student-t degrees of freedom for the maximum-likelihood search (1e6 ~ Gaussian)."""

SEASONAL_MIN_CYCLES = 3
"""A seasonal period is only considered when the series holds at least this many cycles: the
fewest for which the centred moving average (which loses half a cycle at each end) leaves at
least two detrended values per phase; with fewer, the profile would copy the data it adjusts."""

SEASONAL_SCREEN_LEVEL = 0.01
"""Two-sided level of the autocorrelation screen that proposes a seasonal period (a conventional
1%; the screen only limits which model is fitted, BIC makes the decision)."""


def changepoints(values: np.ndarray | Sequence[float]) -> list[int]:
    """Sorted indices of the first point of each new segment of ``values`` (default detector).

    ``values`` is 1-D (n,) or 2-D (n, d) with one column per series sharing the change points.
    NaNs are missing values (left out of the likelihood); series shorter than
    ``MIN_SERIES_LENGTH`` and constant series have no change points. Uses ``ARChangepoints()``
    with its defaults; ``+-inf`` and non-numeric input raise ``ValueError``.
    """
    signal = _as_signal(values)
    if signal.shape[0] < MIN_SERIES_LENGTH:
        return []
    return ARChangepoints().fit(signal).changepoints_


# --------------------------------------------------------------------------------------------
# input handling shared by the estimators
# --------------------------------------------------------------------------------------------


def _as_signal(signal, name: str = "signal") -> np.ndarray:
    """Validate ``signal`` once: a float (n, d) array; NaN allowed (missing), +-inf not."""
    try:
        x = np.array(signal, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers, got {type(signal).__name__} ({exc})") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 1-D (n,) or 2-D (n, d) array, got shape {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"{name}: has no columns (shape {x.shape})")
    bad = np.isinf(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name}: {int(bad.sum())} infinite value(s), first at row {row}, column {col}; "
                         "use NaN for missing values")
    return x


def _fill_missing(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate NaNs per column (nearest value at the ends); all-NaN columns become 0."""
    missing = np.isnan(x)
    if not missing.any():
        return x, missing
    x = x.copy()
    idx = np.arange(x.shape[0])
    for j in range(x.shape[1]):
        m = missing[:, j]
        if m.all():
            x[:, j] = 0.0
        elif m.any():
            x[m, j] = np.interp(idx[m], idx[~m], x[~m, j])
    return x, missing


def _robust_sd(v: np.ndarray) -> float:
    """1.4826 * MAD, the consistent estimate of a normal standard deviation."""
    return float(1.4826 * np.median(np.abs(v - np.median(v)))) if len(v) else 0.0


def _noise_scale(x: np.ndarray) -> np.ndarray:
    """Per-column noise SD from first differences (robust to level shifts), falling back to the SD."""
    scales = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        s = _robust_sd(np.diff(x[:, j])) / np.sqrt(2.0)
        if not s > 0:
            s = float(np.std(x[:, j]))
        scales[j] = s if s > 0 else 1.0
    return scales


def _hampel_outliers(x: np.ndarray, half_window: int, threshold: float, min_scale: float) -> np.ndarray:
    """Hampel identifier: points farther than ``threshold`` robust SDs from their window median.

    The scale is the window's MAD, but never below the series' difference-based noise SD nor
    ``min_scale`` (so flat windows do not flag every small move).
    """
    n = x.shape[0]
    out = np.zeros(x.shape, dtype=bool)
    if half_window < 1 or n < 2 * half_window + 1:
        return out
    base = np.maximum(_noise_scale(x), min_scale)
    for j in range(x.shape[1]):
        padded = np.pad(x[:, j], half_window, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
        med = np.median(windows, axis=1)
        mad = 1.4826 * np.median(np.abs(windows - med[:, None]), axis=1)
        out[:, j] = np.abs(x[:, j] - med) > threshold * np.maximum(mad, base[j])
    return out


def _resolution(x: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Per column, the smallest gap between distinct observed values: the recording grid width
    for rounded or count data, negligible for continuous data. 0 for a column with fewer than
    three distinct values: a two-valued series is an indicator switching between two states,
    not a rounded measurement, and a clean switch must stay detectable."""
    out = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        gaps = np.diff(np.unique(x[observed[:, j], j]))
        if len(gaps) >= 2:
            out[j] = gaps.min()
    return out


def _bkps_to_changepoints(bkps: Sequence[int], n: int) -> list[int]:
    return sorted({int(b) for b in bkps if 0 < int(b) < n})


def _check_positive_int(value, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_fitted(est, attr: str = "breakpoints_") -> None:
    if not hasattr(est, attr):
        raise RuntimeError(f"{type(est).__name__} is not fitted yet: call fit(signal) first")


def _resolve_penalty(penalty, params_per_change: int, n: int) -> float:
    """BIC (Schwarz 1978) on the -2 log-likelihood scale, or a positive number."""
    if isinstance(penalty, str):
        if penalty.lower() == "bic":
            return params_per_change * float(np.log(n))
        raise ValueError(f"penalty must be 'bic' or a positive number, got {penalty!r}")
    try:
        pen = float(penalty)
    except (TypeError, ValueError):
        raise ValueError(f"penalty must be 'bic' or a positive number, got {penalty!r}") from None
    if not pen > 0 or not np.isfinite(pen):
        raise ValueError(f"penalty must be 'bic' or a positive number, got {penalty!r}")
    return pen


# --------------------------------------------------------------------------------------------
# the weighted AR(1) segment cost and an exact search over it
# --------------------------------------------------------------------------------------------


class CostWeightedAR1(BaseCost):
    """Gaussian AR(1) regression cost with per-observation weights, from cumulative sums.

    For a segment ``[start, end)`` and each column, the responses ``y_t`` (``t >= 1``) are
    regressed on ``(1, y_{t-1})`` by weighted least squares; the cost is
    ``m * log(max(RSS_w / m, var_floor))`` summed over columns (``var_floor`` is a number or one
    per column), with ``m`` the number of
    responses: the -2 log-likelihood (up to constants) of the ECM step for Student-t errors,
    whose weights are ``E[tau_t]``. With unit weights it is the ordinary Gaussian AR(1) cost.
    The first observation is only a regressor; so is every observation next to an unobserved
    one (``observed`` False: missing or an outlier), which leaves the likelihood altogether
    rather than entering it as an interpolated value. ``errors(starts, end)`` evaluates many
    segments at once; ``error(start, end)`` makes it a ruptures cost (``rpt.Pelt(custom_cost=...)``).
    """

    model = "weighted_ar1"

    def __init__(self, weights: np.ndarray | None = None, var_floor=1e-4, min_size: int = 5,
                 observed: np.ndarray | None = None):
        self.weights = weights
        self.var_floor = var_floor
        self.min_size = min_size
        self.observed = observed

    def fit(self, signal) -> "CostWeightedAR1":
        y = np.asarray(signal, dtype=float)
        y = y.reshape(len(y), -1)
        self.signal = y
        n, d = y.shape
        seen = np.ones((n, d), bool) if self.observed is None else np.asarray(self.observed, bool)
        seen = seen.reshape(n, d)
        valid = seen.copy()
        valid[0] = False  # y_0 has no predecessor: it is a regressor only
        valid[1:] &= seen[:-1]
        self.valid_ = valid
        w = valid * (1.0 if self.weights is None else np.asarray(self.weights, float).reshape(n, d))
        x = np.vstack([y[:1], y[:-1]])  # lagged values (row 0 unused)

        # cumulative sums, shape (7, d, n + 1): count, w, wx, wxx, wy, wxy, wyy
        stats = np.stack([valid.astype(float), w, w * x, w * x * x, w * y, w * x * y, w * y * y])
        self._cum = np.zeros((7, d, n + 1))
        np.cumsum(stats.transpose(0, 2, 1), axis=2, out=self._cum[:, :, 1:])
        self._x, self._y = x, y
        self._floor = np.broadcast_to(np.asarray(self.var_floor, dtype=float), (d,))
        return self

    def _regression(self, start, end):
        """Response count, WLS intercept, slope and RSS, shape (d,) or (d, k) for k starts."""
        at_end = self._cum[:, :, end]
        if np.ndim(start):
            at_end = at_end[..., None]
        m, sw, sx, sxx, sy, sxy, syy = at_end - self._cum[:, :, start]
        sw_safe = np.where(sw > 0, sw, 1.0)
        mx = sx / sw_safe
        my = sy / sw_safe
        cxx = sxx - sw * mx * mx
        cxy = sxy - sw * mx * my
        ok = cxx > 1e-10 * np.abs(sxx) + 1e-300
        slope = cxy / np.where(ok, cxx, 1.0) * ok
        rss = np.maximum(syy - sw * my * my - slope * cxy, 0.0)
        return m, my - slope * mx, slope, rss

    def regression(self, start: int, end: int):
        """Weighted LS intercept, slope and RSS (per column) of the segment ``[start, end)``."""
        return self._regression(start, end)[1:]

    def errors(self, starts: np.ndarray, end: int) -> np.ndarray:
        """Costs of the segments ``[s, end)`` for every ``s`` in ``starts`` (one numpy pass)."""
        m, _, _, rss = self._regression(np.asarray(starts), end)
        var = np.maximum(rss / np.maximum(m, 1.0), self._floor[:, None])
        return (m * np.log(var)).sum(axis=0)

    def error(self, start, end) -> float:
        if end - start < self.min_size:
            raise NotEnoughPoints
        return float(self.errors(np.array([start]), end)[0])

    def residuals(self, bkps: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Residuals and per-segment residual variances (floored) for segmentation ``bkps``.

        Rows outside the likelihood (``valid_`` False) get residual 0.
        """
        n, d = self._y.shape
        resid = np.zeros((n, d))
        var = np.ones((n, d))
        start = 0
        for end in bkps:
            m, a, b, rss = self._regression(start, end)
            resid[start:end] = self._y[start:end] - a - b * self._x[start:end]
            var[start:end] = np.maximum(rss / np.maximum(m, 1.0), self._floor)
            start = end
        resid[~self.valid_] = 0.0
        return resid, var


def _pelt(cost: CostWeightedAR1 | CostBernoulli, n: int, pen: float, min_size: int) -> list[int]:
    """Exact penalized segmentation by PELT (Killick et al. 2012), costs vectorized over starts.

    Same optimum as ``rpt.Pelt(custom_cost=cost, min_size=min_size, jump=1)`` (a test checks it);
    ruptures calls the cost once per (start, end) pair in Python, this evaluates all candidate
    starts of an end in one numpy call, which matters because the ECM runs the search repeatedly.
    A start is pruned once ``F[s] + C(s, t) > F[t]`` (valid for log-likelihood costs), but only
    ``min_size`` steps later, because segments ending before then cannot start at ``t``.
    """
    best = np.full(n + 1, np.inf)
    best[0] = -pen
    last = np.zeros(n + 1, dtype=int)
    cand = np.zeros(n + 1, dtype=int)  # candidate starts, cand[:k] in use
    dead_after = np.full(n + 1, n + 1)  # a candidate may start segments ending at t < dead_after
    k = 1
    for t in range(min_size, n + 1):
        idx = np.flatnonzero((t - cand[:k] >= min_size) & (t < dead_after[:k]))
        if len(idx):
            starts = cand[idx]
            fit_cost = best[starts] + cost.errors(starts, t)
            j = int(np.argmin(fit_cost))
            best[t] = fit_cost[j] + pen
            last[t] = starts[j]
            pruned = idx[fit_cost > best[t]]
            dead_after[pruned] = np.minimum(dead_after[pruned], t + min_size)
        if t <= n - min_size and np.isfinite(best[t]):
            cand[k], dead_after[k] = t, n + 1
            k += 1
        if t % 64 == 0:
            keep = np.flatnonzero(dead_after[:k] > t)
            k = len(keep)
            cand[:k], dead_after[:k] = cand[keep], dead_after[keep]
    bkps, t = [], n
    while t > 0:
        bkps.append(int(t))
        t = last[t]
    return sorted(bkps)


class CostBernoulli:
    """-2 log-likelihood of 0/1 data with one success probability per segment and column.

    For two-valued (indicator) series, whose natural likelihood is Bernoulli; vectorized over
    segment starts like ``CostWeightedAR1.errors``, so ``_pelt`` can search it. Unobserved
    entries (``observed`` False) leave the likelihood.
    """

    def __init__(self, observed: np.ndarray | None = None):
        self.observed = observed

    def fit(self, signal) -> "CostBernoulli":
        y = np.asarray(signal, dtype=float)
        y = y.reshape(len(y), -1)
        seen = np.ones(y.shape, bool) if self.observed is None else np.asarray(self.observed, bool)
        seen = seen.reshape(y.shape)
        stats = np.stack([seen * 1.0, seen * y])  # (2, n, d): count, successes
        self._cum = np.zeros((2, y.shape[1], y.shape[0] + 1))
        np.cumsum(stats.transpose(0, 2, 1), axis=2, out=self._cum[:, :, 1:])
        return self

    def errors(self, starts: np.ndarray, end: int) -> np.ndarray:
        m, k = self._cum[:, :, end, None] - self._cum[:, :, np.asarray(starts)]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = k / np.maximum(m, 1.0)
            ll = np.where(k > 0, k * np.log(p), 0.0) + np.where(m - k > 0, (m - k) * np.log1p(-p), 0.0)
        return -2.0 * ll.sum(axis=0)


def _seasonal_candidates(z: np.ndarray, min_cycles: int = SEASONAL_MIN_CYCLES,
                         level: float = SEASONAL_SCREEN_LEVEL) -> list[int]:
    """The seasonal periods worth testing for ``z`` (n, d), shortest first; empty when none.

    The autocorrelation of the first differences, averaged over columns, is computed at lags
    ``1 .. n / min_cycles``; a lag ``p >= 3`` qualifies when it is a local maximum above the
    white-noise bound ``z_{1 - level/2} / sqrt(n)`` (Bartlett 1946; Box & Jenkins 1976,
    sec. 6.2). Differencing removes level shifts and trends (a shift becomes one large
    difference, which lowers the autocorrelations instead of creating a peak), and requiring a
    local maximum keeps the slowly decaying autocorrelation of a persistent process from posing
    as a period. The candidate is the qualifying lag with the largest autocorrelation; since a
    period-p series also repeats at 2p, 3p, ..., whose peaks are as high up to sampling noise,
    the qualifying lags that divide it are candidates too. This is only a screen that keeps the
    number of model fits small: whether the series is seasonal, and with which of these
    periods, is decided by BIC (``ARChangepoints``). Period 2 is not proposed: an alternation
    ``+c, -c, ...`` already follows the segment model (an AR(1) coefficient of -1), and over-
    differenced noise has a negative lag-1 autocorrelation that makes lag 2 a spurious local
    maximum.
    """
    n = z.shape[0]
    max_lag = n // min_cycles
    if max_lag < 3:
        return []
    dz = np.diff(z, axis=0)
    dz = dz - dz.mean(axis=0)
    denom = (dz * dz).sum(axis=0)
    if not (denom > 0).all():
        return []
    acf = np.array([((dz[:-k] * dz[k:]).sum(axis=0) / denom).mean()
                    for k in range(1, min(max_lag + 1, n - 2) + 1)])
    acf = np.r_[acf, -np.inf] if len(acf) == max_lag else acf  # acf[k - 1] is lag k
    lags = np.arange(3, max_lag + 1)
    peak = (acf[lags - 1] > acf[lags - 2]) & (acf[lags - 1] >= acf[lags])
    bound = float(ndtri(1.0 - level / 2.0)) / np.sqrt(n)
    ok = lags[peak & (acf[lags - 1] > bound)]
    if not len(ok):
        return []
    top = int(ok[np.argmax(acf[ok - 1])])
    return [int(p) for p in ok if top % p == 0]


def _seasonal_profile(x: np.ndarray, observed: np.ndarray, period: int) -> np.ndarray:
    """Constant additive seasonal component of ``x`` (n, d) with ``period``, one value per phase
    (summing to 0 over a cycle), repeated over the series.

    Classical decomposition (Macaulay 1931; Kendall & Stuart, *The Advanced Theory of
    Statistics* vol. 3, ch. 46): the trend is the centred moving average over one cycle (the
    2 x p average for even p), and each phase's seasonal effect is the median of the detrended
    observed values in that phase. The median, not the mean, keeps the few detrended values
    distorted where the moving average straddles a level shift, or at an outlier, from leaking
    into the profile. Unobserved entries (missing or outliers) are left out.
    """
    n, d = x.shape
    w = np.ones(period) if period % 2 else np.r_[0.5, np.ones(period - 1), 0.5]
    w = w / period
    half = len(w) // 2
    phase = np.arange(n) % period
    out = np.zeros((n, d))
    for j in range(d):
        trend = np.convolve(x[:, j], w, mode="valid")  # centred at half .. n - 1 - half
        detrended = np.full(n, np.nan)
        detrended[half:n - half] = x[half:n - half, j] - trend
        detrended[~observed[:, j]] = np.nan
        effect = np.zeros(period)
        for k in range(period):
            vals = detrended[phase == k]
            vals = vals[~np.isnan(vals)]
            effect[k] = np.median(vals) if len(vals) else 0.0
        out[:, j] = (effect - effect.mean())[phase]
    return out


def _t_loglik(resid: np.ndarray, var: np.ndarray, dof, valid: np.ndarray) -> np.ndarray:
    """Student-t log-likelihood per column of the ``valid`` residuals (m, d), scale^2 ``var``.

    ``dof`` has shape (d,) (result (d,)) or (g, d) for a grid of g candidates (result (g, d)).
    """
    dof = np.asarray(dof, dtype=float)
    m = valid.sum(axis=0)
    const = gammaln((dof + 1) / 2) - gammaln(dof / 2) - 0.5 * np.log(dof * np.pi)
    tail = (valid * np.log1p((resid * resid / var) / dof[..., None, :])).sum(axis=-2)
    return m * const - 0.5 * (valid * np.log(var)).sum(axis=0) - (dof + 1) / 2 * tail


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------


class ARChangepoints:
    """Changes in a piecewise AR(1) model with Student-t innovations (the default detector).

    Model: within segment k and column j, ``y_t = a_kj + b_kj y_{t-1} + s_kj e_t`` with
    ``e_t ~ t(dof_j)``; ``dof_j`` is shared by the segments of column j and estimated by maximum
    likelihood (Lange, Little & Taylor 1989). The change points maximize the t log-likelihood
    minus ``penalty`` per change, BIC by default (Schwarz 1978): ``(3 d + 1) log n``. The
    maximization alternates an exact PELT search (Killick, Fearnhead & Eckley 2012) on the ECM
    surrogate (a weighted Gaussian AR(1) cost, ``CostWeightedAR1``, which minorizes the t
    likelihood) with updates of the weights and ``dof``, from two starts (Gaussian weights, and
    the weights of a one-segment t fit); the segmentation with the best penalized t likelihood
    seen is kept. Each column is scaled by its standard deviation; NaNs and Hampel-flagged
    additive outliers are left out of the likelihood. Optionally the model has a constant
    additive seasonal profile shared by the segments, kept only when BIC prefers it (module
    docstring); the segments are then those of the seasonally adjusted series. See the module
    docstring for how the defaults were chosen.

    Parameters
    ----------
    min_size : shortest segment, in observations (default 5).
    penalty : ``"bic"`` or a positive number on the -2 log-likelihood scale.
    noise_floor : smallest innovation SD a segment is credited with, as a fraction of the
        column's SD (default 0.01); never below the rounding noise of the recorded values
        (Sheppard: values on a grid of width D carry rounding variance D^2 / 12).
    outlier_window : half-width of the Hampel window (0 disables outlier handling).
    outlier_threshold : Hampel threshold in robust SDs.
    max_iter : ECM iterations per start.
    seasonal : ``True`` (default): a period proposed by the autocorrelation screen
        (``_seasonal_candidates``) is tested; an integer ``p >= 2``: that period is tested (a
        known period, e.g. 12 for monthly data; skipped when the series holds fewer than
        ``SEASONAL_MIN_CYCLES`` cycles); ``False``: no seasonal model. Either way the profile
        is kept only when BIC prefers the model with it.

    Attributes (after ``fit``)
    ----------
    breakpoints_ : ruptures breakpoints (segment ends, ``n_samples_`` last).
    changepoints_ : first index of every new segment.
    dof_ : (d,) estimated Student-t degrees of freedom per column (1e6 means Gaussian).
    log_likelihood_ : t log-likelihood of the chosen segmentation (standardized scale).
    penalty_ : the penalty per change that was used.
    outliers_ : boolean (n, d) mask of the points treated as additive outliers.
    missing_ : boolean (n, d) mask of the NaNs in the input.
    start_ : which start won, ``"gaussian"`` or ``"single-segment"``; ``"bernoulli"`` for an
        indicator series (every column two-valued), which is segmented by a Bernoulli likelihood.
    period_ : the seasonal period in the model, 0 when there is none.
    seasonal_ : (n, d) the seasonal profile removed before segmenting, in the input's units
        (zeros when ``period_`` is 0).
    seasonal_gain_ : penalized log-likelihood of the best seasonal model tested minus that of
        the model without seasonality (positive: kept); NaN when no period was tested.
    """

    def __init__(self, min_size: int = 5, penalty: str | float = "bic", noise_floor: float = 0.01,
                 outlier_window: int = 3, outlier_threshold: float = 5.0, max_iter: int = 10,
                 seasonal: bool | int = True):
        self.min_size = min_size
        self.seasonal = seasonal
        self.penalty = penalty
        self.noise_floor = noise_floor
        self.outlier_window = outlier_window
        self.outlier_threshold = outlier_threshold
        self.max_iter = max_iter

    def _validate_params(self) -> None:
        _check_positive_int(self.min_size, "min_size", 2)
        _check_positive_int(self.max_iter, "max_iter", 1)
        _check_positive_int(self.outlier_window, "outlier_window", 0)
        if not (isinstance(self.noise_floor, (int, float)) and 0 < self.noise_floor < 1):
            raise ValueError(f"noise_floor must be a fraction in (0, 1), got {self.noise_floor!r}")
        if not (isinstance(self.outlier_threshold, (int, float)) and self.outlier_threshold > 0):
            raise ValueError(f"outlier_threshold must be positive, got {self.outlier_threshold!r}")
        if not isinstance(self.seasonal, bool):
            _check_positive_int(self.seasonal, "seasonal (a period)", 2)

    def fit(self, signal) -> "ARChangepoints":
        """Validate ``signal`` ((n,) or (n, d), NaN = missing) and find its change points."""
        self._validate_params()
        x = _as_signal(signal)
        n, d = x.shape
        levels = [np.unique(col[~np.isnan(col)]) for col in x.T]
        indicator = all(len(v) == 2 for v in levels)
        self.penalty_ = _resolve_penalty(self.penalty, d + 1 if indicator else 3 * d + 1, max(n, 2))
        x, self.missing_ = _fill_missing(x)
        self.n_samples_ = n
        self.outliers_ = np.zeros_like(self.missing_)
        self.dof_, self.log_likelihood_, self.start_ = np.full(d, np.nan), float("nan"), "none"
        self.period_, self.seasonal_gain_, self.seasonal_ = 0, float("nan"), np.zeros((n, d))
        if n < max(MIN_SERIES_LENGTH, 2 * self.min_size):
            self.breakpoints_ = [n]
            self.changepoints_ = []
            return self
        if indicator:  # every column switches between two states: Bernoulli segments
            states = np.column_stack([x[:, j] == v[1] for j, v in enumerate(levels)]) * 1.0
            self.breakpoints_, self.log_likelihood_ = self._segment_indicator(states)
            self.start_ = "bernoulli"
            self.changepoints_ = _bkps_to_changepoints(self.breakpoints_, n)
            return self
        sd = x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        z = (x - x.mean(axis=0)) / sd
        floor = np.maximum(self.noise_floor ** 2, (_resolution(x, ~self.missing_) / sd) ** 2 / 12.0)
        plain = self._fit_given(z, self._outliers(z), floor)
        chosen, self.period_, self.seasonal_gain_ = plain, 0, float("nan")
        self.seasonal_ = np.zeros((n, d))
        per_parameter = self.penalty_ / (3 * d + 1)  # log n under BIC
        for period in self._periods_to_test(plain[0], n):
            # the seasonal model: z minus a constant profile, on the same scale and noise floor,
            # compared on the same observations (outliers of either version left out of both)
            profile = _seasonal_profile(z, ~(self.missing_ | plain[1]), period)
            outliers = plain[1] | self._outliers(z - profile)
            seasonal = self._fit_given(z - profile, outliers, floor)
            reference = plain if (outliers == plain[1]).all() else self._fit_given(z, outliers, floor)
            gain = seasonal[3] - reference[3] - 0.5 * per_parameter * d * (period - 1)
            if np.isnan(self.seasonal_gain_) or gain > self.seasonal_gain_:
                self.seasonal_gain_ = gain
                if gain > 0:
                    chosen, self.period_, self.seasonal_ = seasonal, period, profile * sd
        _, self.outliers_, found, _ = chosen
        self.breakpoints_, self.dof_, self.log_likelihood_, self.start_ = found
        self.changepoints_ = _bkps_to_changepoints(self.breakpoints_, n)
        return self

    def _outliers(self, z: np.ndarray) -> np.ndarray:
        if not self.outlier_window:
            return np.zeros(z.shape, dtype=bool)
        return _hampel_outliers(z, self.outlier_window, self.outlier_threshold, self.noise_floor)

    def _fit_given(self, z: np.ndarray, outliers: np.ndarray, floor: np.ndarray):
        """Search ``z`` with ``outliers`` left out: (z as searched, outliers, the search's result,
        its penalized log-likelihood)."""
        if outliers.any():
            z, _ = _fill_missing(np.where(outliers, np.nan, z))
        found = self._search(z, ~(self.missing_ | outliers), floor)
        return z, outliers, found, found[2] - 0.5 * self.penalty_ * (len(found[0]) - 1)

    def _periods_to_test(self, z: np.ndarray, n: int) -> list[int]:
        if self.seasonal is False:
            return []
        if self.seasonal is True:  # module constants read here, so a study can vary them
            return _seasonal_candidates(z, SEASONAL_MIN_CYCLES, SEASONAL_SCREEN_LEVEL)
        return [self.seasonal] if self.seasonal * SEASONAL_MIN_CYCLES <= n else []

    def predict(self) -> list[int]:
        """Ruptures breakpoints: the end of every segment, ``n_samples_`` last."""
        _check_fitted(self)
        return list(self.breakpoints_)

    def fit_predict(self, signal) -> list[int]:
        return self.fit(signal).predict()

    def _segment_indicator(self, states: np.ndarray) -> tuple[list[int], float]:
        cost = CostBernoulli(~self.missing_).fit(states)
        bkps = _pelt(cost, states.shape[0], self.penalty_, self.min_size)
        bounds = [0] + bkps
        loglik = -0.5 * sum(float(cost.errors(np.array([a]), b)[0]) for a, b in zip(bounds, bounds[1:]))
        return bkps, loglik

    # -- the ECM ---------------------------------------------------------------------------

    def _search(self, z: np.ndarray, observed: np.ndarray, floor: np.ndarray):
        n = z.shape[0]
        pen = self.penalty_
        best: tuple | None = None
        for start in ("gaussian", "single-segment"):
            weights = np.ones_like(z)
            if start == "single-segment":
                weights, _, _ = self._fit_weights(z, observed, [n], weights, floor)
            seen = []
            for _ in range(self.max_iter):
                cost = CostWeightedAR1(weights, floor, self.min_size, observed).fit(z)
                bkps = _pelt(cost, n, pen, self.min_size)
                if bkps in seen:
                    break
                seen.append(bkps)
                weights, dof, loglik = self._fit_weights(z, observed, bkps, weights, floor)
                objective = loglik - 0.5 * pen * (len(bkps) - 1)
                if best is None or objective > best[0] + 1e-9:
                    best = (objective, bkps, dof, loglik, start)
        assert best is not None  # max_iter >= 1: each start yields a candidate
        _, bkps, dof, loglik, start = best
        return [int(b) for b in bkps], dof, float(loglik), start

    @staticmethod
    def _fit_weights(z, observed, bkps, weights, floor, n_iter: int = 20):
        """EM for segment parameters, per-column dof and weights E[tau_t] given the segmentation."""
        grid = np.repeat(_DOF_GRID[:, None], z.shape[1], axis=1)
        for _ in range(n_iter):
            cost = CostWeightedAR1(weights, floor, observed=observed).fit(z)
            resid, var = cost.residuals(bkps)
            dof = _DOF_GRID[np.argmax(_t_loglik(resid, var, grid, cost.valid_), axis=0)]
            new = (dof + 1.0) / (dof + resid * resid / var)
            if np.allclose(new, weights, rtol=1e-6, atol=1e-9):
                break
            weights = new
        cost = CostWeightedAR1(weights, floor, observed=observed).fit(z)
        resid, var = cost.residuals(bkps)
        return weights, dof, float(_t_loglik(resid, var, dof, cost.valid_).sum())


class PeltChangepoints:
    """ruptures PELT or binary segmentation with a BIC penalty from a robust noise estimate.

    ``model="l2"`` detects mean shifts: each column is divided by its noise SD estimated from
    first differences (1.4826 MAD / sqrt 2, robust to the shifts themselves), so the L2 cost is
    -2 log-likelihood with unit variance and BIC is ``(d + 1) log n``. ``model="normal"``
    detects changes in mean and covariance (Gaussian likelihood), BIC ``(d + d(d+1)/2 + 1) log n``.
    Both assume independent noise: on autocorrelated or trending data they over-segment; use
    ``ARChangepoints`` there. Search: ``"pelt"`` is exact (Killick, Fearnhead & Eckley 2012,
    JASA 107:1590); ``"binseg"`` is greedy binary segmentation (Scott & Knott 1974; Vostrikova
    1981). Fit once, then ``predict(pen=...)`` sweeps penalties as in ruptures.
    NaNs are linearly interpolated.

    Attributes (after ``fit``): ``noise_scale_`` (per column), ``penalty_`` (the automatic
    penalty), ``params_per_change_`` (its BIC parameter count), ``algo_`` (the fitted ruptures
    estimator), ``breakpoints_``, ``changepoints_``.
    """

    _MODELS = ("l2", "normal")
    _SEARCHES = ("pelt", "binseg")

    def __init__(self, model: str = "l2", penalty: str | float = "bic", search: str = "pelt",
                 min_size: int = 5, jump: int = 1):
        self.model = model
        self.penalty = penalty
        self.search = search
        self.min_size = min_size
        self.jump = jump

    def fit(self, signal) -> "PeltChangepoints":
        if self.model not in self._MODELS:
            raise ValueError(f"model must be one of {self._MODELS}, got {self.model!r}")
        if self.search not in self._SEARCHES:
            raise ValueError(f"search must be one of {self._SEARCHES}, got {self.search!r}")
        _check_positive_int(self.min_size, "min_size", 2)
        _check_positive_int(self.jump, "jump", 1)
        x, _ = _fill_missing(_as_signal(signal))
        n, d = x.shape
        self.params_per_change_ = d + 1 if self.model == "l2" else d + d * (d + 1) // 2 + 1
        self.penalty_ = _resolve_penalty(self.penalty, self.params_per_change_, max(n, 2))
        if self.model == "l2":
            self.noise_scale_ = _noise_scale(x)
        else:
            sd = x.std(axis=0)
            self.noise_scale_ = np.where(sd > 0, sd, 1.0)
        z = (x - x.mean(axis=0)) / self.noise_scale_
        algo = rpt.Pelt if self.search == "pelt" else rpt.Binseg
        with warnings.catch_warnings():  # CostNormal warns about its (wanted) diagonal regularizer
            warnings.simplefilter("ignore", UserWarning)
            self.algo_ = algo(model=self.model, min_size=self.min_size, jump=self.jump).fit(z)
        self.n_samples_ = n
        self.breakpoints_ = self.predict() if n >= 2 * self.min_size else [n]
        self.changepoints_ = _bkps_to_changepoints(self.breakpoints_, n)
        return self

    def predict(self, pen: float | None = None) -> list[int]:
        """Ruptures breakpoints for penalty ``pen`` (default: the automatic ``penalty_``)."""
        _check_fitted(self, "algo_")
        pen = self.penalty_ if pen is None else _resolve_penalty(pen, self.params_per_change_,
                                                                  max(self.n_samples_, 2))
        if self.n_samples_ < 2 * self.min_size:
            return [self.n_samples_]
        return [int(b) for b in self.algo_.predict(pen=pen)]


class BayesianOnlineChangepoints:
    """Bayesian online change-point detection (Adams & MacKay 2007, arXiv:0710.3742).

    Each segment is i.i.d. Normal with unknown mean and variance under a Normal-Gamma prior
    (``mu0, kappa0, alpha0, beta0``) per column, columns independent; the predictive is
    Student-t. The hazard is constant, ``1 / hazard_lambda`` (expected segment length).
    The recursion over run lengths is vectorized; time and memory are O(n^2), fine for a few
    thousand points. Before fitting, each column is centred on its median and divided by its
    difference-based robust noise SD, so the prior is on the noise scale; NaNs are skipped
    (their step only propagates the run length).

    Run length ``r_t`` counts the observations before ``x_t`` in its segment; ``r_t = 0`` means
    ``x_t`` opens a new segment.

    Attributes (after ``fit``)
    ----------
    run_length_posterior_ : (n, n) array, row t = P(r_t | x_0..x_t).
    changepoint_probability_ : (n,) P(x_t opens a segment | x_0..x_{t+delay}) =
        P(r_{t+delay} = delay | x_0..x_{t+delay}) (data up to the end when t + delay > n - 1;
        1 at t = 0).
    map_run_length_ : (n,) argmax of each row of the posterior.
    log_evidence_ : log p(x_0..x_{n-1}).
    changepoints_ : the t > 0 with ``changepoint_probability_ > threshold``.
    breakpoints_ : the same as ruptures breakpoints (``n_samples_`` last).

    With the defaults (``hazard_lambda=100``, unit Normal-Gamma prior on the noise scale,
    ``delay=5``, ``threshold=0.5``: report a change when it is more likely than not given five
    more observations) it scores F1 0.705 / cover 0.641 on TCPDBench's univariate series, above
    TCPDBench's published default BOCPD (0.657 / 0.591); reading change points off the MAP
    run-length path instead gave 0.652 / 0.543.
    """

    def __init__(self, hazard_lambda: float = 100.0, mu0: float = 0.0, kappa0: float = 1.0,
                 alpha0: float = 1.0, beta0: float = 1.0, delay: int = 5, threshold: float = 0.5):
        self.hazard_lambda = hazard_lambda
        self.mu0 = mu0
        self.kappa0 = kappa0
        self.alpha0 = alpha0
        self.beta0 = beta0
        self.delay = delay
        self.threshold = threshold

    def fit(self, signal) -> "BayesianOnlineChangepoints":
        if not (isinstance(self.hazard_lambda, (int, float)) and self.hazard_lambda > 1):
            raise ValueError("hazard_lambda must be a number > 1 (the expected segment length), "
                             f"got {self.hazard_lambda!r}")
        for name in ("kappa0", "alpha0", "beta0"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"{name} must be positive, got {v!r}")
        _check_positive_int(self.delay, "delay", 0)
        if not (isinstance(self.threshold, (int, float)) and 0 < self.threshold < 1):
            raise ValueError(f"threshold must be a probability in (0, 1), got {self.threshold!r}")
        x = _as_signal(signal)
        n, d = x.shape
        if n == 0:
            raise ValueError("signal: is empty")
        filled, missing = _fill_missing(x)
        center = np.median(filled, axis=0)
        z = np.where(missing, np.nan, (x - center) / _noise_scale(filled))
        hazard = 1.0 / self.hazard_lambda

        post = np.zeros((n, n))
        log_evidence = 0.0
        # sufficient statistics of the last m observations, m = 0..t (m = 0 is the prior)
        prior = {k: np.full((1, d), float(getattr(self, k))) for k in ("mu0", "kappa0", "alpha0", "beta0")}
        mu, kappa, alpha, beta = prior["mu0"], prior["kappa0"], prior["alpha0"], prior["beta0"]
        prev = None
        for t in range(n):
            xt = z[t]
            obs = ~np.isnan(xt)
            scale2 = beta * (kappa + 1.0) / (alpha * kappa)
            dof = 2.0 * alpha
            resid = np.where(obs, xt, 0.0) - mu
            logpred = (gammaln((dof + 1) / 2) - gammaln(dof / 2) - 0.5 * np.log(np.pi * dof * scale2)
                       - (dof + 1) / 2 * np.log1p(resid * resid / (dof * scale2)))
            logpred = np.where(obs, logpred, 0.0).sum(axis=1)  # (t+1,), index m
            if prev is None:
                logjoint = logpred[:1]
            else:
                lp = np.log(np.maximum(prev, 1e-300))
                grow = lp + np.log1p(-hazard) + logpred[1:]
                cp = np.logaddexp.reduce(lp) + np.log(hazard) + logpred[0]
                logjoint = np.concatenate([[cp], grow])
            norm = np.logaddexp.reduce(logjoint)
            log_evidence += float(norm)
            prev = np.exp(logjoint - norm)
            post[t, : t + 1] = prev
            # update: stats of the last m+1 observations from those of the last m, plus x_t
            xo = np.where(obs, xt, 0.0)
            k_new = kappa + obs
            mu_new = np.where(obs, (kappa * mu + xo) / k_new, mu)
            a_new = alpha + 0.5 * obs
            b_new = beta + np.where(obs, kappa * (xo - mu) ** 2 / (2.0 * k_new), 0.0)
            mu = np.vstack([prior["mu0"], mu_new])
            kappa = np.vstack([prior["kappa0"], k_new])
            alpha = np.vstack([prior["alpha0"], a_new])
            beta = np.vstack([prior["beta0"], b_new])

        self.n_samples_ = n
        self.run_length_posterior_ = post
        self.map_run_length_ = post.argmax(axis=1)
        self.log_evidence_ = log_evidence
        last = np.minimum(np.arange(n) + self.delay, n - 1)
        self.changepoint_probability_ = post[last, last - np.arange(n)]
        self.changepoint_probability_[0] = 1.0  # x_0 always opens a segment
        cps = np.flatnonzero(self.changepoint_probability_ > self.threshold)
        self.changepoints_ = [int(t) for t in cps if t > 0]
        self.breakpoints_ = self.changepoints_ + [n]
        return self

    def predict(self) -> list[int]:
        """Ruptures breakpoints: the change points, then ``n_samples_``."""
        _check_fitted(self)
        return list(self.breakpoints_)

    def fit_predict(self, signal) -> list[int]:
        return self.fit(signal).predict()
