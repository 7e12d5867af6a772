"""Detectors: is each slice's metric worse in the window than its trailing baseline predicts?

Two kinds of small estimators, both vectorized over every slice of a metric at once (2-D arrays, slices ×
buckets; the only Python loops run over buckets or seasonal cells, never over slices):

*Expectation models* learn, from a baseline `Panel`, what each bucket of a window should look like and how
noisy it is, and return `Residuals`:

- `SeasonalBaseline`: an hour-of-week (daily grain: day-of-week) profile of ΣX/ΣY, shrunk empirical-Bayes
  style toward the hour of day, the slice's level and the metric's level. The noise of a bucket's value
  is its sampling variance from the cube's moments — binomial p(1−p)/n for rates, the delta method
  (ΣX² − 2RΣXY + R²ΣY²)/(ΣY)² otherwise — plus the between-bucket over-dispersion τ² that counts cannot
  explain (weather, supply shocks: DerSimonian–Laird from leave-one-out residuals of the baseline, an
  AR(1) whose coefficient is pooled over the metric's slices), plus the uncertainty of the expectation.
- `RobustBaseline`: the seasonal median, with that noise rescaled by the MAD of the baseline residuals
  (robust to an old incident in the baseline).

*Detectors* (`fit(baseline)`, `score(window) -> Scores`, `flag(scores, alpha)`) turn residuals into a
per-bucket statistic and one p-value per slice series that stays valid over the whole window:

- `ZScore` / `RobustZScore`: one bucket against its expectation; Bonferroni over buckets.
- `EWMA`: the exponentially weighted moving average control chart (Roberts 1959; Lucas & Saccucci 1990)
  of the pooled metric, exact for unequal buckets; Bonferroni over buckets.
- `CUSUM`: Page's (1954) cumulative sum of log-likelihood ratios for a bank of relative shifts against
  ``tolerance`` — binomial for rates (exact for sparse counts; quasi-likelihood scaled by the
  over-dispersion), winsorized Gaussian otherwise. By Ville's inequality P(max CUSUM ≥ h) ≤ T·e^(−h).

``side`` is the direction in value terms that counts (``down``, ``up`` or ``both``); ``tolerance`` is the
smallest relative change that matters: the null hypothesis is "the change is at most ``tolerance`` of the
expected value", so a huge slice does not alarm on a statistically clear but negligible drift. For a rate,
the CUSUM also runs a bank whose tolerance and shifts are relative to the rarer outcome, min(p, 1 − p): a
sustained change of an accuracy of 97 % is judged by how many more orders go wrong (1.2 points is 40 %
more); the bucket detectors (z, EWMA), which see a few hours at a time, keep the tolerance relative to the
value, so a short excursion must be large in value terms to alarm — the split of
multiwindow burn-rate alerting (a short window alarms only on a fast burn, a long one on a slow burn; Beyer
et al., *The Site Reliability Workbook*, 2018, ch. 5). Where a variance part was estimated from the
baseline, z-type tails are Student-t (Satterthwaite degrees of freedom), not normal.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.signal import lfilter
from scipy.special import log_ndtr, stdtr, xlogy

from detection.panel import Panel

Side = Literal["up", "down", "both"]
_SIGNS = {"up": (1,), "down": (-1,), "both": (1, -1)}
_EPS = 1e-9


class _Params:
    """Parameters in ``__init__``, learned state in attributes ending in ``_`` (scikit-learn style)."""

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters
                if name != "self"}

    def clone(self):
        """A new, unfitted estimator with the same parameters."""
        return type(self)(**self.get_params())

    @property
    def is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(baseline) first")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"


@dataclass(frozen=True, eq=False)
class Residuals:
    """A window seen through a fitted expectation model; arrays are ``(S, T)`` unless noted.

    The value's predictive variance has three parts: ``sampling`` (from the counts; inf where a bucket
    has no value), the over-dispersion ``tau2`` (per slice) that follows an AR(1) process with coefficient
    ``rho`` over buckets, and ``profile_var``, the uncertainty of the expectation itself.
    """

    kind: str
    x: np.ndarray  # ΣX
    y: np.ndarray  # ΣY
    n: np.ndarray  # records
    observed: np.ndarray  # bool: the bucket has a value
    value: np.ndarray  # ΣX/ΣY (0 where not observed)
    expected: np.ndarray
    sampling: np.ndarray
    tau2: np.ndarray  # (S,)
    rho: np.ndarray  # (S,) in [0, 1)
    profile_var: np.ndarray
    events: np.ndarray  # how good the normal approximation is: expected events (rates), effective records
    #                     n / (1 + CV²) otherwise (a lower bound on the non-zero records of a non-negative
    #                     metric, so a mean of mostly-zero amounts needs more records)
    level: np.ndarray  # (S,) the baseline level
    dof: np.ndarray  # (S,) effective baseline buckets behind the estimated variance parts

    def ar_factor(self, a: float = 1.0) -> np.ndarray:
        """``(S, 1)`` variance factor of the over-dispersion in a sum with memory ``a`` (1: a long sum)."""
        return ((1 + a * self.rho) / (1 - a * self.rho))[:, None]

    def extra(self, a: float = 0.0) -> np.ndarray:
        """Variance beyond the bucket's own sampling, for a statistic with memory ``a``.

        The expectation's error inherits the baseline's autocorrelation (adjacent cells were estimated
        from adjacent, correlated buckets), so it grows with the same factor as the over-dispersion.
        """
        return (self.tau2[:, None] + self.profile_var) * self.ar_factor(a)

    def variance(self, a: float = 0.0) -> np.ndarray:
        """Predictive variance of one bucket's value for use in a statistic with memory ``a``."""
        return self.sampling + self.extra(a)


def _cell_sums(values: np.ndarray, cells: np.ndarray, count: int) -> np.ndarray:
    """``(..., count)``: sums over the buckets (last axis) of each seasonal cell.

    Consecutive buckets cycle through the cells, so the buckets fold into ``(cycles, count)`` and sum;
    anything else goes through sort + reduceat. No BLAS (it fights other processes for the cores).
    """
    T = len(cells)
    if T and np.array_equal(cells, (cells[0] + np.arange(T)) % count):
        cycles = -(-T // count)
        padded = np.zeros(values.shape[:-1] + (cycles * count,))
        padded[..., :T] = values
        folded = padded.reshape(values.shape[:-1] + (cycles, count)).sum(axis=-2)
        return np.roll(folded, cells[0], axis=-1)
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    present = np.unique(sorted_cells)
    starts = np.searchsorted(sorted_cells, present)
    out = np.zeros(values.shape[:-1] + (count,))
    out[..., present] = np.add.reduceat(values[..., order], starts, axis=-1)
    return out


def _check_panel(panel: Panel) -> None:
    if not isinstance(panel, Panel):
        raise TypeError(f"expected a Panel, got {type(panel).__name__}")
    if panel.numerator.ndim != 2 or panel.numerator.shape != panel.denominator.shape:
        raise ValueError("a Panel's arrays must all be 2-D (slices, buckets) of one shape")
    if panel.shape[1] == 0:
        raise ValueError("the panel has no buckets")
    if np.any(panel.denominator < 0):
        raise ValueError("denominators must be >= 0")


def _pooled_lag1(resid: np.ndarray, sampling: np.ndarray, tau2: np.ndarray, obs: np.ndarray,
                 cap: float) -> np.ndarray:
    """AR(1) coefficient of the over-dispersion, pooled over the slices of the panel, in [0, cap].

    Per slice it is the lag-1 autocovariance of the residuals over τ²; one slice's two weeks give it to
    ±0.15 or worse, an underestimate makes long sums look far too precise, and a small slice's τ² may be
    noise with no autocorrelation at all. The slices of one metric share the process behind their
    over-dispersion (demand, supply shocks), so the coefficient is the ratio of the slices' summed
    autocovariances to their summed τ², each weighted by its precision (pairs / (sampling + τ²)²): the
    busy slices, where the shocks are measured best, decide.
    """
    both = obs[:, 1:] & obs[:, :-1]
    v = np.where(obs, sampling + tau2[:, None], np.inf)
    w = np.where(both, 1.0 / (v[:, 1:] * v[:, :-1]), 0.0)
    sw = w.sum(axis=1)
    gamma = np.divide((w * resid[:, 1:] * resid[:, :-1]).sum(axis=1), sw, out=np.zeros(len(resid)), where=sw > 0)
    pairs = both.sum(axis=1)
    mean_sampling = np.divide(np.where(obs, sampling, 0.0).sum(axis=1), obs.sum(axis=1),
                              out=np.zeros(len(resid)), where=obs.any(axis=1))
    usable = (tau2 > 0) & (pairs > 0)
    if not usable.any():
        return np.zeros(len(resid))
    weight = pairs[usable] / (mean_sampling[usable] + tau2[usable]) ** 2
    pooled = (weight * gamma[usable]).sum() / (weight * tau2[usable]).sum()
    return np.full(len(resid), float(np.clip(pooled, 0.0, cap)))


class SeasonalBaseline(_Params):
    """Seasonal expectation of ΣX/ΣY per bucket with sampling + over-dispersion variance.

    The expectation is an empirical-Bayes hierarchy: the slice's level (shrunk toward the metric's overall
    level by ``prior_records`` pseudo-records), hour-of-day cells shrunk toward the level and hour-of-week
    cells toward their hour of day (daily grain: day-of-week toward the level), each by the weight
    τ²_cells / (τ²_cells + v_cell), with τ²_cells the spread between cells the sampling noise does not
    explain (method of moments per slice). A quiet slice so falls back to its level instead of trusting a
    cell of a few records, and a rare event does not get an expected rate of zero.

    Parameters
    ----------
    prior_records : pseudo-records pulling the slice's level toward the metric's overall level.
    max_rho : cap on the over-dispersion's autocorrelation.
    """

    def __init__(self, prior_records: float = 30.0, max_rho: float = 0.9):
        self.prior_records = prior_records
        self.max_rho = max_rho

    def fit(self, baseline: Panel) -> SeasonalBaseline:
        _check_panel(baseline)
        if self.prior_records < 0 or not 0 <= self.max_rho < 1:
            raise ValueError("prior_records must be >= 0 and max_rho in [0, 1)")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # empty cells are masked below
            return self._fit(baseline)

    def _fit(self, baseline: Panel) -> SeasonalBaseline:
        X, Y, n = baseline.numerator, baseline.denominator, baseline.n
        obs = baseline.observed
        if Y.sum() <= 0:
            raise ValueError("the baseline has no records")
        P, season, C, coarse = baseline.seasons()
        cell_coarse = np.arange(P) % C if C > 1 else np.zeros(P, dtype=np.int64)
        rate = baseline.kind == "rate"

        prior = float(X.sum() / Y.sum())
        n_tot = n.sum(axis=1)
        unit = np.divide(Y.sum(axis=1), n_tot, out=np.full(len(Y), Y.sum() / max(n.sum(), 1.0)), where=n_tot > 0)
        k = self.prior_records * unit
        level = (X.sum(axis=1) + k * prior) / (Y.sum(axis=1) + k)
        stacked = np.stack([X, Y, n, obs.astype(float)])
        Xc, Yc, nc, count_c = _cell_sums(stacked, coarse, C)
        Xp, Yp, np_, count_p = _cell_sums(stacked, season, P)
        del stacked
        raw_c = np.divide(Xc, Yc, out=np.repeat(level[:, None], C, axis=1), where=Yc > 0)
        value = np.divide(X, Y, out=np.zeros_like(X), where=obs)
        Ysafe = np.where(obs, Y, 1.0)

        # Per-record variance (what one record adds to the variance of ΣX/ΣY, times (ΣY/n)²).
        # A rate is never expected to be exactly 0 or 1: at least half a record of the other outcome
        # over the baseline (Jeffreys-like), so one failure in a slice that never failed is not a shock.
        floor = (0.5 / (Y.sum(axis=1) + 1.0))[:, None]
        if rate:
            level = np.clip(level, floor[:, 0], 1 - floor[:, 0])
            sigma2 = level * (1 - level)
        elif baseline.kind == "composite":  # no moments: a first guess from the spread around the hour of day
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                guess = np.nanmedian(np.where(obs, (value - raw_c[:, coarse]) ** 2 * n, np.nan), axis=1) / 0.455
            sigma2 = np.maximum(np.nan_to_num(guess, nan=1.0), 1e-12)
        else:  # delta method about the hour-of-day ratio, pooled over the baseline
            e = raw_c[:, coarse]
            num = baseline.num_sq - 2 * e * baseline.num_den + e ** 2 * baseline.den_sq
            sigma2 = np.maximum(num.sum(axis=1), 0.0) / np.maximum(n_tot, 1.0)

        def cell_var(s2: np.ndarray, records: np.ndarray, ysum: np.ndarray) -> np.ndarray:
            """Sampling variance of a cell's ΣX/ΣY (inf for an empty cell)."""
            return np.divide(s2 * records, ysum ** 2, out=np.full_like(ysum, np.inf), where=ysum > 0)

        def shrink(raw: np.ndarray, target: np.ndarray, var: np.ndarray, filled: np.ndarray):
            """Empirical-Bayes weights toward ``target``: τ²/(τ² + v), τ² from the cells' excess spread."""
            dev = np.where(filled, (raw - target) ** 2 - np.where(filled, var, 0.0), 0.0)
            spread = np.maximum(dev.sum(axis=1) / np.maximum(filled.sum(axis=1), 1), 0.0)[:, None]
            total = spread + np.where(filled, var, 1.0)
            weight = np.divide(spread, total, out=np.zeros_like(total), where=filled & (total > 0))
            return weight, spread

        def cells(tau2: np.ndarray):
            """The shrunk hour-of-day and hour-of-week profiles (cells carry τ² over their buckets)."""
            v_c = cell_var(sigma2[:, None], nc, Yc) + tau2[:, None] / np.maximum(count_c, 1.0)
            w_c, spread_c = shrink(raw_c, level[:, None], v_c, Yc > 0)
            hod = level[:, None] + w_c * (raw_c - level[:, None])
            if rate:
                hod = np.clip(hod, floor, 1 - floor)
            target_p = hod[:, cell_coarse]
            s2p = target_p * (1 - target_p) if rate else sigma2[:, None]
            raw_p = np.divide(Xp, Yp, out=target_p.copy(), where=Yp > 0)
            v_p = cell_var(s2p, np_, Yp) + tau2[:, None] / np.maximum(count_p, 1.0)
            w_p, spread_p = shrink(raw_p, target_p, v_p, Yp > 0)
            profile = target_p + w_p * (raw_p - target_p)
            if rate:
                profile = np.clip(profile, floor, 1 - floor)
            return hod, profile, (w_c, spread_c, v_c), (w_p, spread_p, v_p)

        hod, profile, (w_c, spread_c, _), (w_p, spread_p, _) = cells(np.zeros(len(X)))

        # Leave-one-out expectation of every baseline bucket: its own counts removed from its cells.
        yc_rest, yp_rest = Yc[:, coarse] - Y, Yp[:, season] - Y
        c_ok, p_ok = yc_rest > _EPS, yp_rest > _EPS
        raw_c_loo = np.divide(Xc[:, coarse] - X, yc_rest, out=np.repeat(level[:, None], len(season), 1), where=c_ok)
        v_c_loo = cell_var(sigma2[:, None], nc[:, coarse] - n, np.where(c_ok, yc_rest, 0.0))
        wc_loo = np.divide(spread_c, spread_c + v_c_loo, out=np.zeros_like(v_c_loo), where=c_ok)
        hod_loo = level[:, None] + wc_loo * (raw_c_loo - level[:, None])
        if rate:
            hod_loo = np.clip(hod_loo, floor, 1 - floor)
        raw_p_loo = np.divide(Xp[:, season] - X, yp_rest, out=hod_loo.copy(), where=p_ok)
        v_p_loo = cell_var(hod_loo * (1 - hod_loo) if rate else sigma2[:, None], np_[:, season] - n,
                           np.where(p_ok, yp_rest, 0.0))
        wp_loo = np.divide(spread_p, spread_p + v_p_loo, out=np.zeros_like(v_p_loo), where=p_ok)
        loo = hod_loo + wp_loo * (raw_p_loo - hod_loo)
        resid = np.where(obs, value - loo, 0.0)
        loo_var = np.where(p_ok, wp_loo * v_p_loo, 0.0) + np.where(c_ok, (1 - wp_loo) ** 2 * wc_loo * v_c_loo, 0.0)

        if rate:
            e = hod[:, coarse]
            sampling = e * (1 - e) / Ysafe
        elif baseline.kind == "composite":
            shape = np.where(obs, n / Ysafe ** 2, 0.0)
            sigma2, tau2 = _fit_variance(resid, shape, obs, extra=loo_var)
            sampling = sigma2[:, None] * shape
        else:
            sampling = sigma2[:, None] * n / Ysafe ** 2
        if baseline.kind != "composite":
            tau2 = _dersimonian_laird(resid, sampling + loo_var, obs)
        rho = _pooled_lag1(resid, sampling + loo_var, tau2, obs, self.max_rho)
        hod, profile, (w_c, _, v_c), (w_p, _, v_p) = cells(tau2)  # the cells now also carry τ²

        # Uncertainty of the expectation itself: the posterior variance of the shrunk cells.
        prof_var = np.nan_to_num(w_p * np.where(Yp > 0, v_p, 0.0)) \
            + (1 - w_p) ** 2 * np.nan_to_num(w_c * np.where(Yc > 0, v_c, 0.0))[:, cell_coarse]

        self.period_, self.coarse_period_ = P, C
        self.prior_ = prior
        self.level_ = level
        self.profile_ = profile
        self.coarse_profile_ = hod
        self.profile_var_ = prof_var
        self.sigma2_ = None if rate else sigma2  # per record; for a composite the fitted alpha
        self.tau2_ = tau2
        self.rho_ = rho
        self.dof_ = np.maximum(obs.sum(axis=1) * (1 - rho) / (1 + rho), 3.0)
        self.support_ = n_tot
        self.kind_ = baseline.kind
        self.n_slices_ = baseline.shape[0]
        return self

    def expected(self, panel: Panel) -> np.ndarray:
        self._check_fitted()
        _, season, _, _ = panel.seasons()
        return self.profile_[:, season]

    def residuals(self, window: Panel) -> Residuals:
        self._check_fitted()
        _check_panel(window)
        if window.shape[0] != self.n_slices_:
            raise ValueError(f"window has {window.shape[0]} slices, the baseline had {self.n_slices_}")
        _, season, _, coarse = window.seasons()
        X, Y, n, obs = window.numerator, window.denominator, window.n, window.observed
        e = self.profile_[:, season]
        value = np.divide(X, Y, out=np.zeros_like(X), where=obs)
        Ysafe = np.where(obs, Y, 1.0)
        if self.kind_ == "rate":
            ec = np.clip(self.coarse_profile_[:, coarse], _EPS, 1 - _EPS)
            sampling = ec * (1 - ec) / Ysafe
            events = Y * np.minimum(ec, 1 - ec)
        else:
            assert self.sigma2_ is not None  # fitted for every kind but rates
            sampling = self.sigma2_[:, None] * n / Ysafe ** 2
            cv2 = self.sigma2_ / np.maximum(self.level_ ** 2, _EPS)
            events = n / (1.0 + cv2[:, None])
        floor = _EPS * (self.level_[:, None] ** 2 + _EPS)
        sampling = np.where(obs, np.maximum(sampling, floor), np.inf)
        return Residuals(self.kind_, X, Y, n, obs, value, e, sampling, self.tau2_, self.rho_,
                         self.profile_var_[:, season], np.where(obs, events, 0.0), self.level_, self.dof_)


def _dersimonian_laird(resid: np.ndarray, var: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Between-bucket variance τ² per row (DerSimonian & Laird 1986), residuals already centred."""
    w = np.where(obs, 1.0 / np.where(obs, np.maximum(var, 1e-300), 1.0), 0.0)
    q = (w * resid * resid).sum(axis=1)
    sw = w.sum(axis=1)
    c = sw - np.divide((w * w).sum(axis=1), sw, out=np.zeros_like(sw), where=sw > 0)
    dof = obs.sum(axis=1)
    return np.divide(np.maximum(q - dof, 0.0), c, out=np.zeros_like(q), where=c > 0)


def _fit_variance(resid: np.ndarray, shape: np.ndarray, obs: np.ndarray, extra: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Fit E[r²] = alpha·shape + tau2 + extra (``extra`` known) per row: iterated weighted least squares."""
    extra = np.where(obs, extra, 0.0)
    target = np.where(obs, resid * resid - extra, 0.0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio = np.where(obs & (shape > 0), resid * resid / np.where(shape > 0, shape, 1.0), np.nan)
        alpha = np.nan_to_num(np.nanmedian(ratio, axis=1) / 0.455, nan=1.0)  # median of chi2(1) is 0.455
    alpha = np.maximum(alpha, 1e-12)
    tau2 = np.zeros(len(resid))
    for _ in range(3):
        m = alpha[:, None] * shape + tau2[:, None] + extra
        w = np.where(obs, 1.0 / np.maximum(m * m, 1e-300), 0.0)
        saa, sa, s1 = (w * shape * shape).sum(1), (w * shape).sum(1), w.sum(1)
        sar, sr = (w * shape * target).sum(1), (w * target).sum(1)
        det = saa * s1 - sa * sa
        ok = det > 0
        a_new = np.divide(s1 * sar - sa * sr, det, out=alpha.copy(), where=ok)
        t_new = np.divide(saa * sr - sa * sar, det, out=tau2.copy(), where=ok)
        neg_t = t_new < 0
        a_new = np.where(neg_t, np.divide(sar, saa, out=alpha.copy(), where=saa > 0), a_new)
        t_new = np.where(neg_t, 0.0, t_new)
        neg_a = a_new <= 0
        t_new = np.where(neg_a, np.maximum(np.divide(sr, s1, out=tau2.copy(), where=s1 > 0), 0.0), t_new)
        alpha, tau2 = np.where(neg_a, 1e-12, a_new), np.maximum(t_new, 0.0)
    return alpha, tau2


class RobustBaseline(_Params):
    """Seasonal median as the expectation, the MAD to calibrate the noise (robust to an incident in the baseline).

    The location is the median of the baseline values per hour-of-week cell when the baseline holds at
    least ``min_cycles`` weeks (daily grain: day-of-week), else per hour-of-day. The noise keeps the shape
    of `SeasonalBaseline`'s variance (sampling + over-dispersion, so a night bucket of a few records stays
    noisier than a busy one) scaled by c², with c = 1.4826 × the MAD of the baseline's residuals in those
    units (never below 1); the median's own uncertainty is π/2 times a mean's.
    """

    def __init__(self, min_cycles: int = 3, max_rho: float = 0.9):
        self.min_cycles = min_cycles
        self.max_rho = max_rho

    def fit(self, baseline: Panel) -> RobustBaseline:
        _check_panel(baseline)
        moments = SeasonalBaseline(max_rho=self.max_rho).fit(baseline)
        P, season, C, coarse = baseline.seasons()
        obs = baseline.observed
        cycles = baseline.shape[1] / P
        cells, count = (season, P) if cycles >= self.min_cycles else (coarse, C)
        value = np.where(obs, baseline.values(), np.nan)
        loc = np.full((baseline.shape[0], count), np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for c in range(count):  # loop over seasonal cells (≤ 168), vectorized over slices
                cols = cells == c
                if cols.any():
                    loc[:, c] = np.nanmedian(value[:, cols], axis=1)
            loc = np.where(np.isnan(loc), moments.level_[:, None], loc)
            res = moments.residuals(baseline)
            z = (value - loc[:, cells]) / np.sqrt(res.variance(0.0))
            mad = np.nanmedian(np.abs(z - np.nanmedian(z, axis=1)[:, None]), axis=1)
        self.cells_kind_ = "season" if count == P else "coarse"
        self.location_ = loc
        self.scale2_ = np.maximum(np.nan_to_num(1.4826 * mad, nan=1.0), 1.0) ** 2
        self.moments_ = moments
        self.n_slices_ = baseline.shape[0]
        return self

    def residuals(self, window: Panel) -> Residuals:
        self._check_fitted()
        if window.shape[0] != self.n_slices_:
            raise ValueError(f"window has {window.shape[0]} slices, the baseline had {self.n_slices_}")
        _, season, _, coarse = window.seasons()
        cells = season if self.cells_kind_ == "season" else coarse
        base = self.moments_.residuals(window)
        c2 = self.scale2_[:, None]
        return Residuals(base.kind, base.x, base.y, base.n, base.observed, base.value, self.location_[:, cells],
                         base.sampling * c2, base.tau2 * self.scale2_, base.rho, base.profile_var * c2 * np.pi / 2,
                         base.events, base.level, base.dof)


# -- detectors ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Scores:
    """A detector's verdict on a window.

    ``statistic`` is ``(S, T)`` in the detector's own units, signed in value terms (positive = up);
    ``bucket_log_p`` is the natural log of each bucket's alarm p-value before multiplicity; ``n_tests`` how
    many buckets could alarm; ``log_p`` the natural log of each series' p-value over the whole window
    (Bonferroni over buckets and, for ``side="both"``, over the two sides); ``direction`` +1/-1 per series,
    the side that gave it. ``side_log_p``/``side_tests`` keep each side's values for `flag`.
    """

    detector: str
    statistic: np.ndarray
    bucket_log_p: np.ndarray
    n_tests: np.ndarray
    log_p: np.ndarray
    direction: np.ndarray
    side_log_p: tuple[np.ndarray, ...]
    side_tests: tuple[np.ndarray, ...]
    signs: tuple[int, ...]

    @property
    def p_value(self) -> np.ndarray:
        return np.exp(self.log_p)


def signed_root_deviance(x: np.ndarray, y: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """sign(x/y − p0)·√(binomial deviance of x successes in y trials at p0): near N(0, 1) far into the tails.

    Unlike the Wald z, it stays calibrated for skewed counts (a rare failure in a small bucket).
    """
    ys = np.where(y > 0, y, 1.0)
    x = np.clip(x, 0.0, ys)
    dev = 2.0 * (xlogy(x, x / (ys * p0)) + xlogy(ys - x, (ys - x) / (ys * (1 - p0))))
    return np.where(y > 0, np.sign(x / ys - p0) * np.sqrt(np.maximum(dev, 0.0)), 0.0)


def log_tail(stat: np.ndarray, estimated: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """log P(Z > stat) for a statistic standardized by a partly estimated variance.

    ``estimated`` is the share of the variance that was estimated from the baseline (over-dispersion,
    expectation), with ``dof`` effective degrees of freedom per slice: the tail is Student's t with the
    Satterthwaite degrees of freedom dof / share², the normal one when nothing was estimated.
    """
    out = log_ndtr(-stat)
    far = (stat > 2.0) & (estimated > 1e-6)
    if far.any():
        rows = np.broadcast_to(np.asarray(dof, dtype=float)[:, None], stat.shape)[far]
        df = np.minimum(rows / estimated[far] ** 2, 1e7)
        with np.errstate(divide="ignore"):
            out[far] = np.log(stdtr(df, -stat[far]))
    return out


class Detector(_Params):
    """Shared plumbing: a fitted expectation model, sides, tolerance, Bonferroni over buckets."""

    name = "detector"

    def _default_model(self):
        return SeasonalBaseline()

    def _side(self, res: Residuals, sign: int):
        """One side's (statistics, per-bucket log p-values, tests) for ``score_residuals``; each detector's own."""
        raise NotImplementedError

    def _init_common(self, side: Side, tolerance: float, model, refit: bool) -> None:
        self.side = side
        self.tolerance = tolerance
        self.model = model
        self.refit = refit

    def fit(self, baseline: Panel):
        """Validate the baseline and fit the expectation model (unless a fitted ``model`` and ``refit=False``)."""
        _check_panel(baseline)
        if self.side not in _SIGNS:
            raise ValueError(f"side must be one of {sorted(_SIGNS)}, got {self.side!r}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance!r}")
        self._validate()
        model = self.model if self.model is not None else self._default_model()
        if self.refit or not model.is_fitted:
            model = model.clone().fit(baseline)
        elif model.n_slices_ != baseline.shape[0]:
            raise ValueError(f"the prefit model has {model.n_slices_} slices, the baseline {baseline.shape[0]}")
        self.model_ = model
        return self

    def _validate(self) -> None:
        pass

    def score(self, window: Panel) -> Scores:
        """Per-bucket statistics and one p-value per series for ``window``."""
        self._check_fitted()
        return self.score_residuals(self.model_.residuals(window))

    def score_residuals(self, res: Residuals) -> Scores:
        """`score` on residuals already computed by this detector's model (shared by the scan)."""
        signs = _SIGNS[self.side]
        stats, blps, tests = zip(*(self._side(res, s) for s in signs))
        series = np.stack([np.minimum(0.0, np.log(np.maximum(t, 1)) + b.min(axis=1)) for b, t in zip(blps, tests)])
        best = series.argmin(axis=0)
        log_p = np.minimum(0.0, series.min(axis=0) + np.log(len(signs)))
        rows = np.arange(len(best))
        statistic = np.stack([s * sign for s, sign in zip(stats, signs)])[best, rows]
        bucket = np.stack(blps)[best, rows]
        n_tests = np.stack(tests)[best, rows]
        return Scores(self.name, statistic, bucket, n_tests, log_p, np.asarray(signs)[best], tuple(blps),
                      tuple(tests), signs)

    def flag(self, scores: Scores, alpha: float) -> np.ndarray:
        """``(S, T)`` bool: buckets in alarms that are significant at series level ``alpha``."""
        limit = np.log(alpha) - np.log(len(scores.signs))
        out = np.zeros(scores.statistic.shape, dtype=bool)
        for blp, tests in zip(scores.side_log_p, scores.side_tests):
            out |= self._flag_side(blp, limit - np.log(np.maximum(tests, 1))[:, None])
        return out

    def _flag_side(self, bucket_log_p: np.ndarray, limit: np.ndarray) -> np.ndarray:
        return bucket_log_p <= limit

    def _scale(self, res: Residuals) -> np.ndarray:
        return np.where(np.abs(res.expected) > _EPS, np.abs(res.expected), np.abs(res.level)[:, None])

    def _excess(self, res: Residuals, sign: int) -> np.ndarray:
        """Residual in the ``sign`` direction beyond the tolerance, value units (0 where not observed)."""
        return np.where(res.observed, sign * (res.value - res.expected) - self.tolerance * self._scale(res), 0.0)

    def _null_rate(self, res: Residuals, sign: int) -> np.ndarray:
        """For rates: the null boundary p0 = expected ± tolerance × scale."""
        return np.clip(res.expected + sign * self.tolerance * self._scale(res), _EPS, 1 - _EPS)


class ZScore(Detector):
    """One bucket against its seasonal expectation.

    Rates use the signed root of the binomial deviance (divided by the over-dispersion factor), other
    metrics the Wald z = (value − expected) / √variance. A bucket can alarm only when the normal
    approximation holds: ``min_events`` expected events for a rate, ``min_records`` effective records
    (see `Residuals.events`) otherwise —
    so a quiet slice does not alarm on a single failure.
    """

    name = "zscore"

    def __init__(self, side: Side = "both", tolerance: float = 0.0, min_events: float = 5.0,
                 min_records: float = 30.0, model=None, refit: bool = True):
        self._init_common(side, tolerance, model, refit)
        self.min_events = min_events
        self.min_records = min_records

    def _side(self, res: Residuals, sign: int):
        extra = res.extra(0.0)
        if res.kind == "rate":
            p0 = self._null_rate(res, sign)
            over = extra * np.where(res.observed, res.y, 0.0) / (p0 * (1 - p0))
            z = sign * signed_root_deviance(res.x, res.y, p0) / np.sqrt(1.0 + over)
            share = over / (1.0 + over)
            valid = res.observed & (res.events >= self.min_events)
        else:
            var = np.where(res.observed, res.variance(0.0), 1.0)
            z = self._excess(res, sign) / np.sqrt(var)
            share = np.where(res.observed, extra / var, 0.0)
            valid = res.observed & (res.events >= self.min_records)
        z = np.where(res.observed, z, 0.0)
        return z, np.where(valid, log_tail(z, share, res.dof), 0.0), valid.sum(axis=1)


class RobustZScore(ZScore):
    """`ZScore` against the seasonal median, scaled by the MAD (`RobustBaseline`)."""

    name = "robust_z"

    def _default_model(self):
        return RobustBaseline()


class EWMA(Detector):
    """EWMA control chart (Roberts 1959; Lucas & Saccucci 1990) of the pooled metric.

    With a = 1 − ``lam``, the chart at bucket t pools the buckets before it with weights a^(t−j) on their
    sums: Σ a^(t−j) X_j over Σ a^(t−j) Y_j — the exponentially weighted value — against the same weighting
    of the expectation, standardized exactly for unequal bucket sizes, with the over-dispersion's variance
    grown by (1 + aρ)/(1 − aρ) for its autocorrelation. Rates use the signed root deviance at the Kish
    effective count; other metrics a Wald statistic on residuals winsorized at ``clip`` standard
    deviations in the bad direction (one refund of a hundred dollars in a quiet bucket is not a trend).
    Alarms need ``min_events`` expected events (rates) or ``min_records`` effective records (others) in
    the chart's memory.
    """

    name = "ewma"

    def __init__(self, lam: float = 0.1, side: Side = "both", tolerance: float = 0.0, min_events: float = 5.0,
                 min_records: float = 30.0, clip: float = 3.0, model=None, refit: bool = True):
        self._init_common(side, tolerance, model, refit)
        self.lam = lam
        self.clip = clip
        self.min_events = min_events
        self.min_records = min_records

    def _validate(self) -> None:
        if not 0 < self.lam <= 1:
            raise ValueError(f"lam must be in (0, 1], got {self.lam!r}")

    def _side(self, res: Residuals, sign: int):
        a = 1.0 - self.lam

        def smooth(values: np.ndarray, decay: float = a) -> np.ndarray:
            return lfilter([1.0], [1.0, -decay], values, axis=1)

        y = np.where(res.observed, res.y, 0.0)
        extra = np.where(res.observed, res.extra(a), 0.0)
        weight = smooth(y)
        weight_sq = smooth(y, a * a)
        if res.kind == "rate":
            p0 = self._null_rate(res, sign)
            rate0 = np.divide(smooth(y * p0), weight, out=np.full_like(weight, 0.5), where=weight > 0)
            rate0 = np.clip(rate0, _EPS, 1 - _EPS)
            kish = np.divide(weight, weight_sq, out=np.zeros_like(weight), where=weight_sq > 0)
            over = np.divide(smooth(y * y * extra, a * a), rate0 * (1 - rate0) * weight_sq,
                             out=np.zeros_like(weight), where=weight_sq > 0)
            z = sign * signed_root_deviance(kish * smooth(np.where(res.observed, res.x, 0.0)), kish * weight, rate0)
            stat = z / np.sqrt(1.0 + over)
            share = over / (1.0 + over)
            valid = res.observed & (smooth(res.events) >= self.min_events)
        else:
            sampling = np.where(res.observed, res.sampling, 0.0)
            spread = smooth(y * y * (sampling + extra), a * a)
            excess = np.minimum(self._excess(res, sign), self.clip * np.sqrt(sampling + extra))
            stat = np.divide(smooth(y * excess), np.sqrt(spread), out=np.zeros_like(weight), where=spread > 0)
            share = np.divide(smooth(y * y * extra, a * a), spread, out=np.zeros_like(weight), where=spread > 0)
            valid = res.observed & (smooth(res.events) >= self.min_records)
        return stat, np.where(valid, log_tail(stat, share, res.dof), 0.0), valid.sum(axis=1)


class CUSUM(Detector):
    """Page's (1954) CUSUM of log-likelihood ratios, S_t = max(0, S_{t−1} + LLR_t), for a bank of shifts.

    Each design is a relative change of ``shift`` (in the ``side`` direction) against the null of at most
    ``tolerance``, relative to the expected value. A rate has a bank relative to its rarer outcome
    min(p, 1 − p) — designs and null alike — so a 97 % accuracy's designs include 4, 10 and 25 % more
    wrong orders (0.12, 0.3 and 0.75 points), not only changes of 3.9 points and more, for which a
    1.2-point regression never accumulates evidence; where a slice's rate is above one half, the value's
    bank runs beside it (its large designs date a large change, such as on-time falling 10 points, from
    its start: a small design's excursion starts on noise before it). A series gets the design with the
    most evidence (Bonferroni over every design of the banks), so a small shift in a big,
    noisy slice and a large one in a quiet slice are both found fast. Rates use the binomial likelihood
    of the bucket's counts — exact for sparse counts — divided by the over-dispersion factor (total /
    sampling variance, quasi-likelihood); other metrics the Gaussian likelihood with the
    model's variance, each bucket's standardized residual winsorized at ``clip`` in the bad direction
    (robust CUSUM, Lucas & Crosier 1982: heavy-tailed amounts cannot jump it). The over-dispersion and
    the expectation's error enter with their long-run variance ((1 + ρ)/(1 − ρ)), because a CUSUM is a
    long sum. By Ville's inequality an alarm's p-value is at most
    (designs) × (observed buckets) × e^(−max S) under the null. `flag` marks each significant excursion
    from the bucket after its last zero to its peak: the estimated start and end of the change.
    """

    name = "cusum"

    def __init__(self, shifts: tuple[float, ...] = (0.04, 0.1, 0.25), side: Side = "both",
                 tolerance: float = 0.0, clip: float = 3.0, model=None, refit: bool = True):
        self._init_common(side, tolerance, model, refit)
        self.shifts = shifts
        self.clip = clip

    def _validate(self) -> None:
        shifts = np.atleast_1d(np.asarray(self.shifts, dtype=float))
        if shifts.size == 0 or not np.all(shifts > self.tolerance):
            raise ValueError(f"every shift ({self.shifts!r}) must exceed the tolerance ({self.tolerance!r})")

    def fit(self, baseline: Panel) -> CUSUM:
        super().fit(baseline)
        # A rate whose slices all fail less than half the time has one bank: its two scales coincide.
        level = np.divide(baseline.numerator.sum(axis=1), baseline.denominator.sum(axis=1),
                          out=np.zeros(baseline.shape[0]), where=baseline.denominator.sum(axis=1) > 0)
        self.banks_ = 2 if baseline.kind == "rate" and np.any(level > 0.5) else 1
        return self

    def _rate_scales(self, res: Residuals) -> list[np.ndarray]:
        """The scales of a rate's banks: its rarer outcome, and (with two banks) its value."""
        rarer = rarer_outcome(res.expected)
        return [rarer, super()._scale(res)][: self.banks_]

    def llr(self, res: Residuals, sign: int) -> np.ndarray:
        """Per-bucket log-likelihood ratios ``(K, S, T)`` of each ``shift`` against the ``tolerance``."""
        shifts = np.atleast_1d(np.asarray(self.shifts, dtype=float))
        obs = res.observed
        var = np.where(obs, res.variance(1.0), 1.0)
        if res.kind == "rate":
            weight = np.where(obs, res.sampling / var, 0.0)  # 1 / over-dispersion (quasi-likelihood)
            x, y = weight * res.x, weight * res.y
            banks = []
            for scale in self._rate_scales(res):
                p0 = np.clip(res.expected + sign * self.tolerance * scale, _EPS, 1 - _EPS)
                log_p0, log_q0 = np.log(p0), np.log1p(-p0)
                for shift in shifts:
                    p1 = np.clip(res.expected + sign * shift * scale, _EPS, 1 - _EPS)
                    banks.append(x * (np.log(p1) - log_p0) + (y - x) * (np.log1p(-p1) - log_q0))
            return np.stack(banks)
        out = np.empty((len(shifts),) + obs.shape)
        scale = self._scale(res)
        sd = np.sqrt(var)
        r = np.where(obs, sign * (res.value - res.expected) / sd, 0.0)
        unit = scale / sd
        for k, shift in enumerate(shifts):
            step, middle = (shift - self.tolerance) * unit, (shift + self.tolerance) / 2 * unit
            out[k] = np.where(obs, step * np.minimum(r - middle, self.clip), 0.0)
        return out

    def _side(self, res: Residuals, sign: int):
        g = self.llr(res, sign)
        K, S, T = g.shape
        g = g.reshape(K * S, T)
        path = np.empty_like(g)
        s = np.zeros(K * S)
        for t in range(T):  # loop over buckets, vectorized over designs × slices
            s = np.maximum(s + g[:, t], 0.0)
            path[:, t] = s
        path = path.reshape(K, S, T)
        best = path.max(axis=2).argmax(axis=0)
        path = path[best, np.arange(S)]
        return path, np.log(K) - path, res.observed.sum(axis=1)

    def _flag_side(self, bucket_log_p: np.ndarray, limit: np.ndarray) -> np.ndarray:
        # bucket_log_p = log K − S_t; an excursion counts when its peak gives log p at or below ``limit``.
        log_k = np.log(np.atleast_1d(self.shifts).size * self.banks_)
        return excursions(np.maximum(log_k - bucket_log_p, 0.0), log_k - limit)


def rarer_outcome(rate):
    """min(p, 1 − p): the share of a rate's rarer outcome, the scale of its sustained relative changes."""
    return np.minimum(rate, 1.0 - rate)


def excursions(path: np.ndarray, height) -> np.ndarray:
    """Buckets of each CUSUM excursion whose peak reaches ``height``: from after its last zero to its peak.

    ``path`` is ``(S, T)`` and ≥ 0; ``height`` is a scalar or broadcasts to ``(S, 1)``. Vectorized with
    ``reduceat`` over (slice, excursion) groups.
    """
    S, T = path.shape
    if S == 0 or T == 0:
        return np.zeros((S, T), dtype=bool)
    group = np.cumsum(path <= 0, axis=1)  # an excursion shares the count of zeros before it
    keys = (np.arange(S)[:, None] * (T + 1) + group).ravel()
    flat = path.ravel()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    lengths = np.diff(np.append(starts, len(keys)))
    peak = np.repeat(np.maximum.reduceat(flat, starts), lengths)
    t = np.tile(np.arange(T), S)
    first_peak = np.repeat(np.minimum.reduceat(np.where(flat == peak, t, T), starts), lengths)
    h = np.broadcast_to(np.asarray(height, dtype=float).reshape(-1, 1), (S, T)).ravel() if np.ndim(height) \
        else np.full(S * T, float(height))
    return ((flat > 0) & (peak >= h) & (t <= first_peak)).reshape(S, T)


DETECTORS = {cls.name: cls for cls in (ZScore, RobustZScore, EWMA, CUSUM)}
