"""Migration-stage association: is a pattern concentrated in merchants at one stage of their migration?

Every signal is placed in its merchant's stage at the moment it was sent — ``pre`` (not yet migrated),
``in_progress``, ``post_recent`` (finished within ``recent_hours``, 48 h by default) or ``post_later`` —
and every merchant's time in the period is split the same way into merchant-hours at risk. The signal
rate of each stage is compared with the rate of merchants not yet migrated, *within the same day*
(strata), so a pattern that simply grew over the period (everyone migrates late) is not mistaken for a
migration effect: the rate ratio is the Mantel–Haenszel estimate for person-time with the
Greenland–Robins variance of its logarithm (Greenland & Robins 1985, "Estimation of a common effect
parameter from sparse follow-up data", Biometrics 41:55–68), the test the one-sided score test of the
conditional binomials (given a stratum's signals, the share at the stage is binomial in its share of
the merchant-hours under no association). A pattern's signals cluster by merchant — an outage or a bad
setting hits some merchants many times and others never — so the counts are over-dispersed against the
Poisson: the variance of the test and of the log ratio is multiplied by the quasi-Poisson dispersion
φ = Pearson χ² / (merchants − 4) of the per-merchant counts around the stage-rate model (McCullagh &
Nelder 1989, *Generalized Linear Models*, §6.2), at least 1; without it a chance excess of migrated
merchants among those an unrelated outage hit looks like a migration effect. Three comparisons per pattern — in progress, post within
``recent_hours``, post at any time — each against ``pre``; Benjamini–Hochberg across all patterns and
comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import beta, norm

from detection.fdr import benjamini_hochberg

STATES = ("pre", "in_progress", "post_recent", "post_later")
COMPARISONS = {"in_progress": (1,), "post_recent": (2,), "post": (2, 3)}


@dataclass(frozen=True, eq=False)
class StageTests:
    """Arrays ``(patterns, comparisons)`` in the order of `COMPARISONS`: signals and merchant-hours of the
    stage, the rate ratio against ``pre`` with its 95% interval, p- and q-values (NaN: not testable);
    ``pre_signals``/``pre_hours`` per pattern; ``after_start[p]`` the share of the pattern's merchants
    whose first signal came at or after their migration started (NaN: no migrated merchant)."""

    signals: np.ndarray
    hours: np.ndarray
    ratio: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    pre_signals: np.ndarray
    pre_hours: np.ndarray
    after_start: np.ndarray


def _overlap(a: np.ndarray, b: np.ndarray, days: int) -> np.ndarray:
    """``(merchants, days)`` hours of each interval [a, b) (hours from the start) inside each day."""
    lo = np.arange(days) * 24.0
    return np.clip(np.minimum(b[:, None], lo + 24) - np.maximum(a[:, None], lo), 0.0, None)


def _dispersion(pattern: np.ndarray, merchant: np.ndarray, n_patterns: int, state_counts: np.ndarray,
                merchant_hours: np.ndarray) -> np.ndarray:
    """Quasi-Poisson dispersion per pattern: Pearson χ² of the per-merchant counts around the stage-rate
    model, over its degrees of freedom, at least 1. ``state_counts`` is ``(patterns, 4)``,
    ``merchant_hours`` ``(4, merchants)``."""
    M = merchant_hours.shape[1]
    if M <= 5:
        return np.ones(n_patterns)
    rates = state_counts / np.maximum(merchant_hours.sum(axis=1), 1e-12)  # (P, 4)
    expected = rates @ merchant_hours  # (P, M)
    observed = np.bincount(pattern * M + merchant, minlength=n_patterns * M).reshape(n_patterns, M)
    chi2 = np.divide((observed - expected) ** 2, expected, out=np.zeros_like(expected), where=expected > 0)
    return np.maximum(chi2.sum(axis=1) / (M - 4), 1.0)


def stage_tests(pattern: np.ndarray, merchant: np.ndarray, hour: np.ndarray, n_patterns: int,
                started: np.ndarray, finished: np.ndarray, period_hours: float, recent_hours: float = 48.0,
                q: float = 0.05) -> StageTests:
    """Stage association of every pattern.

    ``pattern``, ``merchant`` (index into ``started``/``finished``) and ``hour`` (hours since the period
    start) describe each signal; ``started``/``finished`` each merchant's migration times in hours since
    the start (``inf`` when it did not happen in the period).
    """
    days = max(1, int(np.ceil(period_hours / 24)))
    s, f = started[merchant], finished[merchant]
    state = np.where(hour < s, 0, np.where(hour < f, 1, np.where(hour < f + recent_hours, 2, 3)))
    day = np.clip((hour // 24).astype(np.int64), 0, days - 1)
    flat = (pattern * 4 + state) * days + day
    counts = np.bincount(flat, minlength=n_patterns * 4 * days).reshape(n_patterns, 4, days).astype(float)
    end = np.full(len(started), float(period_hours))
    st, fi = np.minimum(started, end), np.minimum(finished, end)
    per_merchant = np.stack([
        _overlap(np.zeros(len(st)), st, days),
        _overlap(st, fi, days),
        _overlap(fi, np.minimum(fi + recent_hours, end), days),
        _overlap(np.minimum(fi + recent_hours, end), end, days),
    ])  # (4, merchants, days)
    exposure = per_merchant.sum(axis=1)  # (4, days)
    phi = _dispersion(pattern, merchant, n_patterns, counts.sum(axis=2), per_merchant.sum(axis=2))

    shape = (n_patterns, len(COMPARISONS))
    out = {k: np.full(shape, np.nan) for k in ("signals", "hours", "ratio", "low", "high", "p")}
    k0, e0 = counts[:, 0, :], exposure[0]
    for j, states in enumerate(COMPARISONS.values()):
        k1, e1 = counts[:, list(states), :].sum(axis=1), exposure[list(states)].sum(axis=0)
        both = (e0 > 0) & (e1 > 0)
        out["signals"][:, j] = k1.sum(axis=1)
        out["hours"][:, j] = e1.sum()
        if not both.any():
            continue
        k1b, k0b, e1b, e0b = k1[:, both], k0[:, both], e1[both], e0[both]
        e = e1b + e0b
        n = k1b + k0b
        pi = e1b / e
        u = (k1b - n * pi).sum(axis=1)
        v = (n * pi * (1 - pi)).sum(axis=1) * phi
        with np.errstate(divide="ignore", invalid="ignore"):
            out["p"][:, j] = np.where(v > 0, norm.sf(u / np.sqrt(v)), np.nan)
            r = (k1b * e0b / e).sum(axis=1)
            s_ = (k0b * e1b / e).sum(axis=1)
            ratio = r / s_
            var = (n * e1b * e0b / e ** 2).sum(axis=1) / (r * s_) * phi
            half = 1.959964 * np.sqrt(var)
            low, high = ratio * np.exp(-half), ratio * np.exp(half)
            # a side without signals: the ratio is unbounded (or zero); the exact (Clopper–Pearson) bound of
            # the pooled conditional binomial, its counts divided by φ, gives the finite end
            k1s, k0s = k1b.sum(axis=1) / phi, k0b.sum(axis=1) / phi
            scale = e0b.sum() / e1b.sum()
            none_pre, none_stage = (k0s == 0) & (k1s > 0), (k1s == 0) & (k0s > 0)
            pi_low = beta.ppf(0.025, np.maximum(k1s, 1e-9), k0s + 1)
            pi_high = beta.ppf(0.975, k1s + 1, np.maximum(k0s, 1e-9))
            low = np.where(none_pre, pi_low / (1 - pi_low) * scale, low)
            high = np.where(none_stage, pi_high / (1 - pi_high) * scale, high)
            ratio = np.where(none_pre, np.inf, ratio)
            high = np.where(none_pre, np.inf, high)
            ratio = np.where(none_stage, 0.0, ratio)
            low = np.where(none_stage, 0.0, low)
        tested = v > 0
        out["ratio"][:, j] = np.where(tested, ratio, np.nan)
        out["low"][:, j] = np.where(tested, low, np.nan)
        out["high"][:, j] = np.where(tested, high, np.nan)
    fdr = benjamini_hochberg(out["p"], q)

    # timing: did the pattern's merchants show it only once their migration had started?
    first = pd.DataFrame({"p": pattern, "m": merchant, "h": hour}).groupby(["p", "m"], sort=False)["h"].min()
    pm = first.index.get_level_values("m").to_numpy()
    migrated = np.isfinite(started[pm])
    after = pd.Series(np.where(migrated, (first.to_numpy() >= started[pm]).astype(float), np.nan),
                      index=first.index.get_level_values("p"))
    share = after.groupby(level=0).mean().reindex(range(n_patterns)).to_numpy()
    return StageTests(out["signals"], out["hours"], out["ratio"], out["low"], out["high"], out["p"], fdr.q_values,
                      k0.sum(axis=1), np.full(n_patterns, e0.sum()), share)
