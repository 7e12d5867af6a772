"""Noise models of the slice pursuit in `detection.localize`: one small class per kind of KPI.

A model sees the kept leaves as ``y`` (observed) and ``e`` (expected under "nothing happened") and
says how surprising a fitted mean ``mu = e · (product of slice factors)`` is. Every model shares one
dispersion form: the variance of a leaf is ``(a + s·w) · w`` in the model's unit ``w`` (its volume):
``a`` is count-like noise and ``s`` relative noise. Under the null both are fitted once (robustly,
then re-fitted outside the slices found); the pursuit lets a cuboid of root causes have a larger
``s`` of its own (the per-leaf spread of an anomaly). Deviances ``D`` are in the same unit:
``D / (a + s·w)`` is about chi-square(1).

* :class:`GaussianNoise` — additive KPI: ``y = real``, ``e = predict``, volume ``u`` (``e`` itself for a
  non-negative KPI; the leaf's records for signed values), ``D = (y - mu)² / u``.
* :class:`PoissonNoise` — ratio KPI: ``y`` = numerator events, ``e`` = denominator × forecast rate,
  ``D`` = Poisson deviance (small counts are judged as counts, not as Gaussian rates).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.linalg import lapack

CHI2_1_Q25 = 0.101531  # lower quartile of a chi-square variable with one degree of freedom
MIN_BIN = 100  # leaves per volume bin when choosing the shape of the null dispersion
TRIM = 9.0  # trimming point of the null fit (three standard deviations)...
TRIM_MEAN = 0.973337  # ...and the mean of a chi-square(1) below it


class GaussianNoise:
    """Additive KPI: ``y ~ N(mu, (a + s·u)·u)`` in a non-negative leaf volume ``u`` — count-like noise
    ``a`` plus relative noise ``s``. A slice's factor ``f`` moves its leaves by ``u·(f - 1)``: with
    ``u = e`` (the default: a non-negative KPI) it scales them, ``mu = e·f``; with ``u`` the leaf's
    records (a sum or mean of signed values) it shifts their mean by ``f - 1`` per record, so the
    sign of ``y`` and ``e`` never matters (a deviation model, as Squeeze's deviation score)."""

    min_unit = 0.0  # every leaf with a volume informs the dispersion
    factors_use_null = True  # the factors are weighted by the null variance (`cell_stats`)

    def __init__(self, y: np.ndarray, e: np.ndarray, u: np.ndarray | None = None):
        self.y_all, self.e_all = y, e
        self.signed = u is not None
        self.u_all = e if u is None else u
        # with few leaves the shape of the noise is not estimated: a value scales with its leaf
        # (relative noise); a shift per record averages over the records (count-like noise)
        self.default_shape = (0.0, 1.0) if u is None else (1.0, 0.0)

    def keep(self) -> np.ndarray:
        """Leaves that carry information about a factor (a leaf without volume carries none)."""
        return self.u_all > 0

    def restrict(self, keep: np.ndarray) -> None:
        self.y, self.e, self.u = self.y_all[keep], self.e_all[keep], self.u_all[keep]
        self.fit_null(np.arange(len(self.y)))

    def fit_null(self, idx: np.ndarray) -> None:
        """Null dispersion from the given leaves (all of them, or those no slice explains): its
        shape (relative and/or count-like noise), then its scale."""
        self.shape = null_dispersion_shape(self, idx)
        lam = fit_null_dispersion(self, idx, self.shape, default=1e-8)
        self.a, self.s0 = lam * self.shape[0], lam * self.shape[1]
        self.var0 = (self.a + max(self.s0, 1e-12) * self.u) * self.u

    def mean(self, idx: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Fitted means of the leaves given the product ``m`` of their slices' factors."""
        return self.e[idx] + self.u[idx] * (m - 1.0)

    def unit(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return self.u[idx]

    def deviance(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r = self.y[idx] - mu
        return r * r / self.u[idx]

    def informative(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return np.ones(len(idx), dtype=bool)

    def cell_stats(self, idx: np.ndarray, cell: np.ndarray, n_cells: int):
        """Sufficient statistics per cell for the factors: sum((y - e + u)·u/var0) and sum(u²/var0)."""
        u, v = self.u[idx], self.var0[idx]
        return (np.bincount(cell, weights=(self.y[idx] - self.e[idx] + u) * u / v, minlength=n_cells),
                np.bincount(cell, weights=u * u / v, minlength=n_cells))

    def factor_solver(self, a: np.ndarray, b: np.ndarray) -> Callable[[np.ndarray], float]:
        """Weighted least-squares factor of one slice (cell statistics ``a``, ``b``) as a function
        of the other slices' product on its cells (never negative for a non-negative KPI: a leaf
        cannot fall below zero)."""
        signed = self.signed

        def factor(m_other: np.ndarray) -> float:
            den = float((m_other * m_other) @ b)
            if den <= 0:
                return 1.0
            f = float(m_other @ a) / den
            return f if signed else max(f, 0.0)

        return factor

    @staticmethod
    def joint_factors(member_of: np.ndarray, a: np.ndarray, b: np.ndarray,
                      start: np.ndarray | None = None) -> None:
        """No joint solution: the factors of overlapping slices multiply inside a least-squares
        fit, which coordinate ascent solves (the caller's fallback)."""
        return None

    def screen_terms(self, idx: np.ndarray, mu: np.ndarray, phi: np.ndarray):
        """Per-leaf score and information of a common log-factor (summed per slice by the caller)."""
        u = self.u[idx]
        g = mu - self.e[idx] + u  # d mu / d log f
        w = g / (phi * u)
        return (self.y[idx] - mu) * w, g * w

    @staticmethod
    def screen_gain(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """-2·log-likelihood gain of giving a slice its own factor (exact for a Gaussian mean)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(q > 0, p * p / q, 0.0)


class PoissonNoise:
    """Ratio KPI: numerator events ``y ~ Poisson-like(mu)`` with variance ``(a + s·mu)·mu``."""

    min_unit = 10.0  # leaves expecting fewer events are too discrete to inform a dispersion
    factors_use_null = False  # a slice's fit (factors, means, deviances) does not depend on the null
    shape = (1.0, 0.0)  # null dispersion: count-like

    def __init__(self, y: np.ndarray, e: np.ndarray):
        self.y_all, self.e_all = y, e

    def keep(self) -> np.ndarray:
        return (self.e_all > 0) | (self.y_all > 0)

    def restrict(self, keep: np.ndarray) -> None:
        self.y = self.y_all[keep]
        self.e = np.maximum(self.e_all[keep], 1e-9 * max(float(self.e_all.max()), 1.0))
        self.fit_null(np.arange(len(self.y)))

    def fit_null(self, idx: np.ndarray) -> None:
        """Null dispersion from the given leaves: count-like (Poisson or binomial noise times a
        fitted factor ``a``)."""
        self.a = fit_null_dispersion(self, idx, self.shape, default=1.0)
        self.s0 = 0.0

    def mean(self, idx: np.ndarray, m: np.ndarray) -> np.ndarray:
        return self.e[idx] * m

    def unit(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return np.maximum(mu, 1e-12)

    def deviance(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        y = self.y[idx]
        mu = np.maximum(mu, 1e-300)
        # y·log(y/mu), exactly 0 where y = 0, in whole-array passes (no masked copies)
        t = np.divide(np.maximum(y, 1e-300), mu)
        np.log(t, out=t)
        t *= y
        t -= y - mu
        t *= 2.0
        return np.maximum(t, 0.0, out=t)

    def informative(self, idx: np.ndarray, mu: np.ndarray) -> np.ndarray:
        return mu >= self.min_unit

    def cell_stats(self, idx: np.ndarray, cell: np.ndarray, n_cells: int):
        """Sufficient statistics per cell: observed and expected events."""
        return (np.bincount(cell, weights=self.y[idx], minlength=n_cells),
                np.bincount(cell, weights=self.e[idx], minlength=n_cells))

    @staticmethod
    def factor_solver(a: np.ndarray, b: np.ndarray) -> Callable[[np.ndarray], float]:
        """Maximum-likelihood rate factor of one slice (observed ``a`` and expected ``b`` events per
        cell) as a function of the other slices' product on its cells."""
        events = float(a.sum())

        def factor(m_other: np.ndarray) -> float:
            den = float(m_other @ b)
            return events / den if den > 0 else 1.0

        return factor

    @staticmethod
    def joint_factors(member_of: np.ndarray, a: np.ndarray, b: np.ndarray,
                      start: np.ndarray | None = None) -> np.ndarray | None:
        """Maximum-likelihood factors of overlapping slices at once: the rate of a cell is the
        product of its slices' factors, a log-linear Poisson model (McCullagh & Nelder 1989, ch. 6)
        whose likelihood is concave in the log-factors, so Newton's method from ``start`` (else ones),
        halving a step that does not raise it, reaches the optimum in a few steps where coordinate
        ascent (iterative proportional fitting) takes many sweeps. None when the optimum is not an
        interior point Newton can reach: a slice without events (its factor is 0), slices the cells
        do not tell apart, or no convergence; the caller then uses coordinate ascent."""
        m = member_of.astype(float)
        if (m.T @ a <= 0).any():
            return None
        theta = np.log(start) if start is not None and (start > 0).all() else np.zeros(m.shape[1])
        eta = m @ theta
        rate = b * np.exp(eta)
        current = float(a @ eta - rate.sum())
        for _ in range(50):
            info = (m * rate[:, None]).T @ m
            chol, failed = lapack.dpotrf(info, lower=1)
            if failed or np.min(np.diag(chol)) ** 2 < 1e-10 * np.max(np.diag(info)):
                return None  # slices the cells do not tell apart: no unique split of their product
            step, failed = lapack.dpotrs(chol, m.T @ (a - rate), lower=1)
            if failed:
                return None
            for _ in range(30):  # halve a step that does not raise the likelihood
                eta = m @ (theta + step)
                rate = b * np.exp(eta)
                trial = float(a @ eta - rate.sum())
                if trial >= current - 1e-12 * abs(current):
                    break
                step = step / 2.0
            else:
                return None
            theta, current = theta + step, trial
            if np.max(np.abs(step)) <= 1e-8:  # quadratic convergence: the next step is ~1e-16
                return np.exp(theta)
        return None

    def screen_terms(self, idx: np.ndarray, mu: np.ndarray, phi: np.ndarray):
        return self.y[idx] / phi, mu / phi

    @staticmethod
    def screen_gain(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Poisson likelihood-ratio statistic of a common rate factor (quasi-scaled by 1/phi)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 2.0 * (np.where(p > 0, p * np.log(p / q), 0.0) - (p - q))
        return np.where(q > 0, g, 0.0)


def null_dispersion_shape(model, idx: np.ndarray, n_bins: int = 10) -> tuple[float, float]:
    """Robust shape ``(ca, cs)`` of the null dispersion ``λ·(ca + cs·w)``: how the noise grows with
    the volume ``w`` (``cs = 0``: count-like; ``ca = 0``: relative; between: both).

    Leaves are binned by volume; each bin's lower quartile of ``D`` over that of chi2(1) estimates
    its dispersion; the shape is chosen on a grid by the median absolute log-error over the bins,
    so a few bins dominated by anomalous leaves cannot bend it."""
    mu = model.e[idx]
    ok = model.informative(idx, mu)
    if ok.sum() < 5 * MIN_BIN:  # too few leaves to tell shapes apart
        return model.default_shape
    d, w = model.deviance(idx[ok], mu[ok]), model.unit(idx[ok], mu[ok])
    order = np.argsort(w, kind="stable")
    parts = np.array_split(order, int(np.clip(len(order) // MIN_BIN, 5, n_bins)))
    w_b = np.array([np.mean(w[p]) for p in parts])
    t_b = np.array([np.quantile(d[p], 0.25) for p in parts]) / CHI2_1_Q25
    if np.any(t_b <= 0):
        return model.default_shape
    shapes = [(0.0, 1.0)] + [(r, 1.0) for r in np.geomspace(w_b.min() / 100, w_b.max() * 100, 41)] + [(1.0, 0.0)]
    best, best_err = shapes[0], np.inf
    for ca, cs in shapes:
        f = ca + cs * w_b
        lam = np.median(t_b / f)
        err = float(np.median(np.abs(np.log(t_b / (lam * f)))))
        if err < best_err - 1e-9:
            best, best_err = (ca, cs), err
    return best


def fit_null_dispersion(model, idx: np.ndarray, shape: tuple[float, float], default: float) -> float:
    """Scale ``λ`` of the null dispersion ``λ·(ca + cs·w)`` of the normal leaves among the given ones.

    A robust start (the lower quartile of ``D / (ca + cs·w)`` over that of chi2(1)) is refined by
    the quasi-likelihood estimate over the leaves within three standard deviations, corrected for
    the trimming: the same estimator (up to the trimming) that the pursuit uses for the selected
    slices, so a slice of normal leaves gains nothing by getting a dispersion of its own."""
    mu = model.e[idx]
    ok = model.informative(idx, mu)
    if ok.sum() < 5:
        return default
    d = model.deviance(idx[ok], mu[ok])
    f = shape[0] + shape[1] * model.unit(idx[ok], mu[ok])
    z = d / f
    lam = float(np.quantile(z, 0.25)) / CHI2_1_Q25
    if lam <= 0:
        lam = float(np.mean(z))
    if lam <= 0:  # noise-free forecasts: any deviation counts
        return default
    for _ in range(50):
        kept = z <= TRIM * lam
        new = float(np.mean(z[kept])) / TRIM_MEAN if kept.any() else lam
        if new <= 0:
            break
        done = abs(new - lam) <= 1e-6 * lam
        lam = new
        if done:
            break
    return lam
