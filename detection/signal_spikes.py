"""Spikes per pattern: did a pattern's rate rise in the recent window above what its baseline predicts?

Every pattern is a slice of one rate panel (signals per merchant-hour, `metrics.signal_rates`), so the
project's detectors test them all at once: a one-sided `CUSUM` with a bank of large relative shifts
(×1.5, ×3, ×10 — a new failure mode multiplies a rate, it does not nudge it; Page 1954, binomial
likelihood for sparse counts) over the `SeasonalBaseline` fitted on the baseline hours, against the null
"the rate rose by at most ``tolerance``" (10%: with a million signals a stationary pattern's 1% wobble is
statistically clear and operationally meaningless).

Background noise is rarely Poisson: tickets and errors come in small bursts. `nb_dispersion` measures each
pattern's hour-to-hour excess over Poisson in its own baseline (a negative-binomial α) and the panel is
tested in effective counts (`effective_counts`: quasi-likelihood), so a bursty pattern needs more evidence
to be raised; slower, day-to-day swings stay with the baseline model's over-dispersion τ² and its
autocorrelation. A per-hour z-score is not used: one hour's tail is the part of a count distribution
its model gets least right (on gamma-mixed hourly noise, shape 5, with the dispersion accounted for,
it gave p ≤ 0.01 to 4–10% of stationary patterns of 42–300 signals an hour, the CUSUM to 1%), while a
CUSUM pools evidence over hours and still catches a burst of a few times the rate in one hour.

The patterns with at least ``min_signals`` signals in the window are tested under Benjamini–Hochberg
(`detection.fdr`) in two separate families (Efron 2008, "Simultaneous inference: when should hypothesis
testing problems be combined?", Ann. Appl. Stat. 2(1):197–223): *new* patterns (fewer than
``min_signals`` signals in the baseline — a migration's new error codes, whose p-values are all but 0)
and *established* ones. In one family, each certain discovery among the new patterns raised the bar
below which an established pattern's noise was declared a spike (BH's threshold grows with the number
of discoveries); apart, stationary established patterns are raised with probability at most q whatever
the migration brings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from detection.detectors import CUSUM, SeasonalBaseline
from detection.fdr import benjamini_hochberg
from detection.panel import Panel


@dataclass(frozen=True)
class SpikeConfig:
    q: float = 0.05
    min_signals: int = 10
    shifts: tuple[float, ...] = (0.5, 2.0, 9.0)
    tolerance: float = 0.1


def nb_dispersion(counts: np.ndarray, hour: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``counts`` (patterns × baseline hours, ``hour`` of day and ``day`` index of each): the
    negative-binomial dispersion α of the hourly counts, Var = μ(1 + αμ), and each hour-of-day cell's mean
    count μ_c (``(S, 24)``).

    Method of moments in the form of Cameron & Trivedi's (1990) auxiliary regression ("Regression-based
    tests for overdispersion in the Poisson model", J. Econometrics 46:347–364): α = Σ(v̂ − x)/Σμ², clipped
    at 0, where v̂ = (x − μ̂)²·(n − 1)/n estimates an hour's variance around μ̂, the mean of the n − 1
    other baseline hours of its hour of day (leave-one-out, so the hour's own noise is not fitted away;
    (n − 1)/n undoes that mean's own variance) scaled by its day's level measured on the day's other hours.
    So α is the short-lived, hour-to-hour excess; day-to-day swings of the level stay in the residuals,
    where `SeasonalBaseline`'s over-dispersion τ² and its autocorrelation account for them.
    """
    S, T = counts.shape
    cells = np.zeros((S, 24))
    size = np.bincount(hour, minlength=24).astype(float)
    for c in range(24):  # 24 cells, vectorized over patterns
        cells[:, c] = counts[:, hour == c].sum(axis=1)
    mean = np.divide(cells, size, out=np.zeros_like(cells), where=size > 0)
    n = size[hour]
    usable = n >= 2
    loo = np.divide(cells[:, hour] - counts, n - 1, out=np.zeros_like(counts), where=usable)
    days, d = np.unique(day, return_inverse=True)
    observed = np.zeros((S, len(days)))
    expected = np.zeros((S, len(days)))
    for k in range(len(days)):  # days of the baseline, vectorized over patterns
        cols = d == k
        observed[:, k] = counts[:, cols].sum(axis=1)
        expected[:, k] = mean[:, hour[cols]].sum(axis=1)
    rest_obs, rest_exp = observed[:, d] - counts, expected[:, d] - mean[:, hour]
    level = np.divide(rest_obs, rest_exp, out=np.ones_like(counts), where=rest_exp > 0)
    v = np.where(usable, (counts - loo * level) ** 2 * (n - 1) / np.where(usable, n, 1.0) - counts, 0.0)
    mu2 = np.where(usable, mean[:, hour] ** 2, 0.0).sum(axis=1)
    alpha = np.divide(v.sum(axis=1), mu2, out=np.zeros(S), where=mu2 > 0)
    return np.maximum(alpha, 0.0), mean


@dataclass(frozen=True, eq=False)
class SpikeTests:
    """Per pattern (rows of the panel): ``p_value``/``q_value`` (NaN: not tested; q within its family),
    ``raised``, the first flagged bucket of the window (-1: none), ``new`` (the family), the baseline's
    negative-binomial ``dispersion`` α, the baseline and window rates in signals per hour."""

    p_value: np.ndarray
    q_value: np.ndarray
    raised: np.ndarray
    start: np.ndarray
    new: np.ndarray
    dispersion: np.ndarray
    baseline_per_hour: np.ndarray
    window_per_hour: np.ndarray


def spike_tests(panel: Panel, baseline_buckets: int, config: SpikeConfig = SpikeConfig()) -> SpikeTests:
    """Test every pattern's window (buckets after ``baseline_buckets``) against its baseline.

    ``panel`` is a `pattern_rate_panel` (hourly counts over a constant number of merchant-hours).
    """
    S, T = panel.shape
    if not 24 <= baseline_buckets < T:
        raise ValueError(f"the baseline needs at least 24 hours and a window after it (got {baseline_buckets} of {T})")
    hour = panel.seasons()[3]
    day = panel.ts.astype("datetime64[D]").astype(np.int64)
    alpha, cell_mean = nb_dispersion(panel.numerator[:, :baseline_buckets], hour[:baseline_buckets],
                                     day[:baseline_buckets])
    scaled = effective_counts(panel, 1.0 + alpha[:, None] * cell_mean[:, hour])
    baseline, window = scaled.columns(0, baseline_buckets), scaled.columns(baseline_buckets, T)
    model = SeasonalBaseline().fit(baseline)
    cusum = CUSUM(shifts=config.shifts, side="up", tolerance=config.tolerance, model=model, refit=False).fit(baseline)
    scores = cusum.score_residuals(model.residuals(window))
    p = np.exp(scores.log_p)
    flags = cusum.flag(scores, config.q)
    counts = panel.numerator
    in_window = counts[:, baseline_buckets:].sum(axis=1)
    in_baseline = counts[:, :baseline_buckets].sum(axis=1)
    tested = in_window >= config.min_signals
    new = in_baseline < config.min_signals
    p_tested = np.where(tested, p, np.nan)
    q_values = np.full(S, np.nan)
    raised = np.zeros(S, dtype=bool)
    for family in (new, ~new):  # separate classes (Efron 2008): new patterns, patterns with a baseline rate
        fdr = benjamini_hochberg(np.where(family, p_tested, np.nan), config.q)
        q_values = np.where(family, fdr.q_values, q_values)
        raised |= fdr.rejected & family & tested
    first = np.where(flags.any(axis=1), flags.argmax(axis=1), -1)
    return SpikeTests(p_tested, q_values, raised, np.where(raised, first, -1), new, alpha,
                      in_baseline / baseline_buckets, in_window / window.shape[1])


def effective_counts(panel: Panel, dispersion: np.ndarray) -> Panel:
    """The rate panel with each bucket's counts and merchant-hours divided by its ``dispersion`` φ ≥ 1.

    The rate x/y is unchanged and its binomial variance grows φ-fold, so the detectors' likelihoods become
    quasi-likelihoods (McCullagh & Nelder 1989, ch. 9) for counts with variance φμ: the counts a
    Poisson test may trust are x/φ ("effective counts").
    """
    x, y = panel.numerator / dispersion, panel.denominator / dispersion
    return replace(panel, numerator=x, denominator=y, n=y.copy(), num_sq=x.copy(), den_sq=y.copy(), num_den=x.copy())


def pattern_rate_panel(counts: np.ndarray, axis: np.ndarray, merchants: int, names) -> Panel:
    """A rate panel of signals per merchant-hour, one slice per pattern (row of ``counts``)."""
    if merchants < 1:
        raise ValueError("merchants must be >= 1")
    peak = counts.max(initial=0.0)
    parts = max(1, int(np.ceil(2 * peak / merchants)))
    y = np.full(counts.shape, float(merchants * parts))
    return Panel(counts, y, y.copy(), counts.copy(), y.copy(), counts.copy(), axis,
                 np.asarray(list(names), dtype=object), "rate", "hour", "signals_per_merchant_hour")
