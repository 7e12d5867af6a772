"""Spikes per pattern: did a pattern's rate rise in the recent window above what its baseline predicts?

Every pattern is a slice of one rate panel (signals per merchant-hour, `metrics.signal_rates`), so the
project's detectors test them all at once: a `CUSUM` with a bank of large relative shifts (×1.5, ×3,
×10 — a new failure mode multiplies a rate, it does not nudge it; Page 1954, exact binomial likelihood
for sparse counts) and a `ZScore` per bucket, both one-sided up over the `SeasonalBaseline` fitted on the
baseline hours, against the null "the rate rose by at most ``tolerance``" (10%: with a million signals a
stationary pattern's 1% wobble is statistically clear and operationally meaningless — in a 1M-signal
simulation without it one noise pattern whose rate had not risen was raised at q = 0.01). A pattern's
p-value is the smaller of the two, doubled (Bonferroni); the patterns with
at least ``min_signals`` signals in the window are then tested together under Benjamini–Hochberg
(`detection.fdr`), so few of the raised patterns are raised by chance however many patterns there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.detectors import CUSUM, SeasonalBaseline, ZScore
from detection.fdr import benjamini_hochberg
from detection.panel import Panel


@dataclass(frozen=True)
class SpikeConfig:
    q: float = 0.05
    min_signals: int = 10
    shifts: tuple[float, ...] = (0.5, 2.0, 9.0)
    tolerance: float = 0.1


@dataclass(frozen=True, eq=False)
class SpikeTests:
    """Per pattern (rows of the panel): ``p_value``/``q_value`` (NaN: not tested), ``raised``, the first
    flagged bucket of the window (-1: none), the baseline and window rates in signals per hour."""

    p_value: np.ndarray
    q_value: np.ndarray
    raised: np.ndarray
    start: np.ndarray
    baseline_per_hour: np.ndarray
    window_per_hour: np.ndarray


def spike_tests(panel: Panel, baseline_buckets: int, config: SpikeConfig = SpikeConfig()) -> SpikeTests:
    """Test every pattern's window (buckets after ``baseline_buckets``) against its baseline."""
    S, T = panel.shape
    if not 24 <= baseline_buckets < T:
        raise ValueError(f"the baseline needs at least 24 hours and a window after it (got {baseline_buckets} of {T})")
    baseline, window = panel.columns(0, baseline_buckets), panel.columns(baseline_buckets, T)
    model = SeasonalBaseline().fit(baseline)
    res = model.residuals(window)
    detectors = (CUSUM(shifts=config.shifts, side="up", tolerance=config.tolerance, model=model, refit=False),
                 ZScore(side="up", tolerance=config.tolerance, model=model, refit=False))
    log_p = []
    flags = np.zeros(window.shape, dtype=bool)
    for det in detectors:
        det.fit(baseline)
        scores = det.score_residuals(res)
        log_p.append(scores.log_p)
        flags |= det.flag(scores, config.q)
    p = np.minimum(1.0, 2.0 * np.exp(np.minimum(*log_p)))
    in_window = window.numerator.sum(axis=1)
    tested = in_window >= config.min_signals
    fdr = benjamini_hochberg(np.where(tested, p, np.nan), config.q)
    raised = fdr.rejected & tested
    first = np.where(flags.any(axis=1), flags.argmax(axis=1), -1)
    return SpikeTests(np.where(tested, p, np.nan), fdr.q_values, raised, np.where(raised, first, -1),
                      baseline.numerator.sum(axis=1) / baseline_buckets, in_window / window.shape[1])


def pattern_rate_panel(counts: np.ndarray, axis: np.ndarray, merchants: int, names) -> Panel:
    """A rate panel of signals per merchant-hour, one slice per pattern (row of ``counts``)."""
    if merchants < 1:
        raise ValueError("merchants must be >= 1")
    peak = counts.max(initial=0.0)
    parts = max(1, int(np.ceil(2 * peak / merchants)))
    y = np.full(counts.shape, float(merchants * parts))
    return Panel(counts, y, y.copy(), counts.copy(), y.copy(), counts.copy(), axis,
                 np.asarray(list(names), dtype=object), "rate", "hour", "signals_per_merchant_hour")
