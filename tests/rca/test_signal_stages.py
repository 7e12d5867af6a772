"""Migration-stage association on counts with a known answer."""

from __future__ import annotations

import numpy as np

from rca.signal_stages import COMPARISONS, stage_tests

POST_RECENT = list(COMPARISONS).index("post_recent")


def _signals(rate_pre: float, rate_recent: float, seed: int = 0):
    """100 merchants over 10 days; half migrate at day 5 (instantly); Poisson signals per merchant-hour."""
    rng = np.random.default_rng(seed)
    M, H = 100, 240.0
    started = np.where(np.arange(M) < 50, 120.0 + np.arange(M) % 7, np.inf)
    finished = started + 0.0
    hours, merchants = [], []
    for m in range(M):
        for a, b, rate in ((0, min(started[m], H), rate_pre), (started[m], min(started[m] + 48, H), rate_recent),
                           (min(started[m] + 48, H), H, rate_pre)):
            if b > a:
                n = rng.poisson(rate * (b - a))
                hours.append(rng.uniform(a, b, n))
                merchants.append(np.full(n, m))
    return np.concatenate(hours), np.concatenate(merchants), started, finished, H


def test_a_pattern_concentrated_after_migration_is_found_and_its_interval_covers_the_ratio():
    covered = 0
    for seed in range(20):
        hour, merchant, started, finished, H = _signals(0.02, 0.2, seed)
        t = stage_tests(np.zeros(len(hour), dtype=np.int64), merchant, hour, 1, started, finished, H)
        assert t.q_value[0, POST_RECENT] < 1e-6
        covered += t.low[0, POST_RECENT] < 10.0 < t.high[0, POST_RECENT]
    assert covered >= 16  # a 95% interval: 19 of 20 expected
    assert t.after_start[0] < 1.0  # merchants had the background rate before migrating too


def test_no_association_on_a_flat_rate():
    p_values = []
    for seed in range(20):
        hour, merchant, started, finished, H = _signals(0.05, 0.05, seed)
        t = stage_tests(np.zeros(len(hour), dtype=np.int64), merchant, hour, 1, started, finished, H)
        p_values.append(t.p_value[0, POST_RECENT])
    assert sum(p < 0.05 for p in p_values) <= 3
    assert 0.2 < np.median(p_values) < 0.8
