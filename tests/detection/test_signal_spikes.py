"""Spike tests per pattern on generated hourly counts whose answer is known: overdispersed background noise
is not raised, a real rise and a new pattern are, and new patterns do not loosen the bar for the others."""

from __future__ import annotations

import numpy as np

from detection.fdr import benjamini_hochberg
from detection.signal_spikes import nb_dispersion, pattern_rate_panel, spike_tests

HOURS = 336
BASELINE = 168
AXIS = np.datetime64("2026-03-02T00:00", "ns") + np.arange(HOURS) * np.timedelta64(1, "h")
HOUR = np.arange(HOURS) % 24
DAY = np.arange(HOURS) // 24
PROFILE = 0.85 + 0.45 * np.sin((HOUR - 8) / 24 * 2 * np.pi)  # busy afternoons, quiet nights
PROFILE = PROFILE / PROFILE.mean()


def _noise(rng, rates, k: float | None = None, day_sd: float = 0.0) -> np.ndarray:
    """Hourly counts: Poisson, gamma-mixed per hour (negative binomial, α = 1/k) or with a daily level."""
    mu = np.asarray(rates, dtype=float)[:, None] * PROFILE
    if k is not None:
        mu = mu * rng.gamma(k, 1 / k, mu.shape)
    if day_sd:
        mu = mu * np.repeat(rng.lognormal(-day_sd ** 2 / 2, day_sd, (len(mu), HOURS // 24)), 24, axis=1)
    return rng.poisson(mu).astype(float)


def test_dispersion_is_the_hour_to_hour_excess_of_the_counts():
    rng = np.random.default_rng(0)
    rates = np.full(40, 40.0)
    nb, _ = nb_dispersion(_noise(rng, rates, k=5.0)[:, :BASELINE], HOUR[:BASELINE], DAY[:BASELINE])
    poisson, cells = nb_dispersion(_noise(rng, rates)[:, :BASELINE], HOUR[:BASELINE], DAY[:BASELINE])
    days, _ = nb_dispersion(_noise(rng, rates, day_sd=0.2)[:, :BASELINE], HOUR[:BASELINE], DAY[:BASELINE])
    assert 0.15 < np.median(nb) < 0.25  # α = 1/k = 0.2
    assert np.median(poisson) < 0.005 and np.all(poisson >= 0)
    assert np.median(days) < 0.01  # a day's level is not hour-level noise (τ² of the baseline model takes it)
    assert np.allclose(cells.mean(axis=0) / 40.0, PROFILE[:24], rtol=0.1)


def test_overdispersed_noise_is_not_raised_a_rise_and_a_new_pattern_are():
    rng = np.random.default_rng(1)
    rates = np.geomspace(5, 300, 40)
    noise = _noise(rng, rates, k=5.0)  # hourly CV 0.45: far from Poisson
    rise = _noise(rng, [20.0], k=5.0)
    rise[:, -72:] = rng.poisson(3 * 20.0 * PROFILE[-72:])  # tripled over the last three days
    new = np.zeros((1, HOURS))
    new[:, -48:] = rng.poisson(2.0, 48)  # an error that did not exist before
    counts = np.vstack([noise, rise, new])
    spikes = spike_tests(pattern_rate_panel(counts, AXIS, 5000, range(len(counts))), BASELINE)

    assert np.flatnonzero(spikes.raised).tolist() == [40, 41]
    assert spikes.new.tolist() == [False] * 41 + [True]
    assert np.median(spikes.dispersion[:40]) > 0.1
    assert spikes.start[40] >= HOURS - BASELINE - 72
    # Each family has its own Benjamini–Hochberg: the new pattern's p = 0 does not loosen the others' bar.
    established = ~spikes.new & np.isfinite(spikes.p_value)
    assert np.allclose(spikes.q_value[established], benjamini_hochberg(spikes.p_value[established]).q_values)


def test_poisson_noise_of_every_size_is_not_raised():
    rng = np.random.default_rng(2)
    counts = np.vstack([_noise(rng, np.geomspace(0.5, 500, 60)), _noise(rng, np.full(20, 40.0), day_sd=0.1)])
    spikes = spike_tests(pattern_rate_panel(counts, AXIS, 20000, range(len(counts))), BASELINE)
    assert not spikes.raised.any()
    assert np.isfinite(spikes.p_value).all() and spikes.p_value.min() > 0.05
