"""Noise models of the slice pursuit in `detection.localize`: one small class per kind of KPI.

A model sees the kept leaves as ``y`` (observed) and ``e`` (expected under "nothing happened") and
says how surprising a fitted mean ``mu = e · (product of slice factors)`` is. Every model shares one
dispersion form: the variance of a leaf is ``(a + s·w) · w`` in the model's unit ``w`` (its volume),
with ``a`` (count-like noise) fitted once under the null and ``s`` (relative noise) fitted per cell,
so a root-cause slice may be noisier than the rest (per-leaf spread of the anomaly) without that
noise looking like further slices. Deviances ``D`` are in the same unit: ``D / (a + s·w) ~ chi2(1)``.

* :class:`GaussianNoise` — additive KPI: ``y = real``, ``e = predict``, ``D = (y - mu)² / e``.
* :class:`PoissonNoise` — ratio KPI: ``y`` = numerator events, ``e`` = denominator × forecast rate,
  ``D`` = Poisson deviance (small counts are judged as counts, not as Gaussian rates).
"""

from __future__ import annotations

import numpy as np

CHI2_1_MEDIAN = 0.454936  # median of a chi-square variable with one degree of freedom
CHI2_1_Q25 = 0.101531  # its lower quartile
TRIM = 9.0  # trimming point of the null fit (three standard deviations)...
TRIM_MEAN = 0.973337  # ...and the mean of a chi-square(1) below it


class GaussianNoise:
    """Additive KPI: ``y ~ N(mu, (a + s·e)·e)`` — relative noise ``s`` plus count-like noise ``a``."""

    min_unit = 0.0  # every leaf with a forecast informs the dispersion

    def __init__(self, y: np.ndarray, e: np.ndarray):
        self.y_all, self.e_all = y, e

    def keep(self) -> np.ndarray:
        """Leaves that carry information about a factor (a leaf without forecast carries none)."""
        return self.e_all > 0

    def restrict(self, keep: np.ndarray) -> None:
        self.y, self.e = self.y_all[keep], self.e_all[keep]
        self.fit_null(np.arange(len(self.y)))

    def fit_null(self, idx: np.ndarray) -> None:
        """Null dispersion from the given leaves (all of them, or those no slice explains)."""
        self.a, self.s0 = fit_null_dispersion(self, idx, default=(0.0, 1e-8))
        self.var0 = (self.a + max(self.s0, 1e-12) * self.e) * self.e

    def unit(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return self.e[idx]

    def deviance(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r = self.y[idx] - mu
        return r * r / self.e[idx]

    def informative(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return np.ones(len(idx), dtype=bool)

    def cell_stats(self, idx: np.ndarray, cell: np.ndarray, n_cells: int):
        """Sufficient statistics per cell for the factors: sum(y·e/var0) and sum(e²/var0)."""
        e, v = self.e[idx], self.var0[idx]
        return (np.bincount(cell, weights=self.y[idx] * e / v, minlength=n_cells),
                np.bincount(cell, weights=e * e / v, minlength=n_cells))

    @staticmethod
    def factor(a: np.ndarray, b: np.ndarray, m_other: np.ndarray) -> float:
        """Weighted least-squares factor of one slice given the other slices' product on its cells."""
        den = float(np.sum(m_other * m_other * b))
        return max(float(np.sum(m_other * a)) / den, 0.0) if den > 0 else 1.0

    def screen_terms(self, idx: np.ndarray, mu: np.ndarray, phi: np.ndarray):
        """Per-leaf score and information of a common log-factor (summed per slice by the caller)."""
        w = mu / (phi * self.e[idx])
        return (self.y[idx] - mu) * w, mu * w

    @staticmethod
    def screen_gain(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """-2·log-likelihood gain of giving a slice its own factor (exact for a Gaussian mean)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(q > 0, p * p / q, 0.0)


class PoissonNoise:
    """Ratio KPI: numerator events ``y ~ Poisson-like(mu)`` with variance ``(a + s·mu)·mu``."""

    min_unit = 10.0  # leaves expecting fewer events are too discrete to inform a dispersion

    def __init__(self, y: np.ndarray, e: np.ndarray):
        self.y_all, self.e_all = y, e

    def keep(self) -> np.ndarray:
        return (self.e_all > 0) | (self.y_all > 0)

    def restrict(self, keep: np.ndarray) -> None:
        self.y = self.y_all[keep]
        self.e = np.maximum(self.e_all[keep], 1e-9 * max(float(self.e_all.max()), 1.0))
        self.fit_null(np.arange(len(self.y)))

    def fit_null(self, idx: np.ndarray) -> None:
        """Null dispersion from the given leaves, starting from pure Poisson (the quantiles of few
        events are too discrete to start from)."""
        self.a, self.s0 = fit_null_dispersion(self, idx, default=(1.0, 0.0), start=(1.0, 0.0))

    def unit(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return np.maximum(mu, 1e-12)

    def deviance(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        y = self.y[idx]
        mu = np.maximum(mu, 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(y > 0, y * np.log(y / mu), 0.0)
        return np.maximum(2.0 * (t - (y - mu)), 0.0)

    def informative(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return mu >= self.min_unit

    def cell_stats(self, idx: np.ndarray, cell: np.ndarray, n_cells: int):
        """Sufficient statistics per cell: observed and expected events."""
        return (np.bincount(cell, weights=self.y[idx], minlength=n_cells),
                np.bincount(cell, weights=self.e[idx], minlength=n_cells))

    @staticmethod
    def factor(a: np.ndarray, b: np.ndarray, m_other: np.ndarray) -> float:
        """Maximum-likelihood rate factor of one slice given the other slices' product on its cells."""
        den = float(np.sum(m_other * b))
        return float(np.sum(a)) / den if den > 0 else 1.0

    def screen_terms(self, idx: np.ndarray, mu: np.ndarray, phi: np.ndarray):
        return self.y[idx] / phi, mu / phi

    @staticmethod
    def screen_gain(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Poisson likelihood-ratio statistic of a common rate factor (quasi-scaled by 1/phi)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 2.0 * (np.where(p > 0, p * np.log(p / q), 0.0) - (p - q))
        return np.where(q > 0, g, 0.0)


def fit_null_dispersion(
    model, idx: np.ndarray, default: tuple[float, float], start: tuple[float, float] | None = None, n_bins: int = 10
) -> tuple[float, float]:
    """``(a, s)`` of the dispersion ``a + s·w`` of the normal leaves among the given ones (mu = e).

    A robust start (unless given) — volume bins, the lower quartile of ``D`` in each bin over that
    of chi2(1), non-negative least squares through the bins — survives many anomalous leaves.
    It is refined by the quasi-likelihood estimate (a gamma GLM with identity link, iteratively
    reweighted) over the leaves within three standard deviations, corrected for that trimming: the
    same estimator the pursuit uses for the selected slices, so a slice of normal leaves gains
    nothing by getting a dispersion of its own."""
    mu = model.e[idx]
    ok = model.informative(idx, mu)
    if ok.sum() < 5:
        return default
    idx, mu = idx[ok], mu[ok]
    d = model.deviance(idx, mu)
    w = model.unit(idx, mu)
    if start is None:
        order = np.argsort(w, kind="stable")
        n_bins = int(np.clip(len(idx) // 100, 1, n_bins))
        rows, target = [], []
        for part in np.array_split(order, n_bins):  # a handful of volume bins
            rows.append((1.0, float(np.mean(w[part]))))
            target.append(float(np.quantile(d[part], 0.25)) / CHI2_1_Q25)
        x, t = np.asarray(rows), np.asarray(target)
        scale = np.maximum(t, 1e-300)
        a, s = _nnls2(x / scale[:, None], t / scale)
        if a <= 0 and s <= 0:  # noise-free forecasts: any deviation counts
            return default
    else:
        a, s = start
    design = np.column_stack([np.ones(len(w)), w])
    for _ in range(20):
        phi = np.maximum(a + s * w, 1e-300)
        kept = d <= TRIM * phi
        if kept.sum() < 5:
            break
        sw = 1.0 / phi[kept]  # E[D | kept] = TRIM_MEAN·phi, Var ∝ phi²
        a_new, s_new = _nnls2(design[kept] * sw[:, None], d[kept] / TRIM_MEAN * sw)
        if a_new <= 0 and s_new <= 0:
            break
        done = abs(a_new - a) <= 1e-4 * max(a, 1e-300) and abs(s_new - s) <= 1e-4 * max(s, 1e-300)
        a, s = a_new, s_new
        if done:
            break
    return a, s


def _nnls2(x: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Non-negative least squares ``min |x·v - b|², v >= 0`` with two unknowns, via the 2×2 normal
    equations (closed form over the active sets)."""
    g = x.T @ x
    h = x.T @ b
    candidates = []
    det = g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0]
    if abs(det) > 1e-12 * max(g[0, 0] * g[1, 1], 1e-300):
        candidates.append(((g[1, 1] * h[0] - g[0, 1] * h[1]) / det, (g[0, 0] * h[1] - g[1, 0] * h[0]) / det))
    if g[0, 0] > 0:
        candidates.append((h[0] / g[0, 0], 0.0))
    if g[1, 1] > 0:
        candidates.append((0.0, h[1] / g[1, 1]))
    best, best_val = (0.0, 0.0), 0.0
    for cand in candidates:
        v = np.asarray(cand, dtype=float)
        if v.min() < 0:
            continue
        val = float(v @ g @ v - 2 * h @ v)
        if val < best_val:
            best, best_val = (float(v[0]), float(v[1])), val
    return best
