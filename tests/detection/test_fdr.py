"""Benjamini–Hochberg: the paper's example, agreement with statsmodels, few alarms on noise, planted signals found."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from detection.fdr import benjamini_hochberg

# Benjamini & Hochberg (1995), section 4: 15 p-values from a clinical trial; at q = 0.05 BH rejects 4.
BH_EXAMPLE = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
              0.6528, 0.7590, 1.000]


def test_the_papers_example():
    result = benjamini_hochberg(BH_EXAMPLE, 0.05)
    assert result.discoveries == 4
    assert result.rejected[:4].all() and not result.rejected[4:].any()
    assert result.threshold == 0.0095


def test_q_values_match_statsmodels():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-4, size=20)])
    ours = benjamini_hochberg(p, 0.1)
    rejected, adjusted, *_ = multipletests(p, alpha=0.1, method="fdr_bh")
    np.testing.assert_allclose(ours.q_values, adjusted)
    assert (ours.rejected == rejected).all()


def test_pure_noise_gives_few_alarms():
    """All nulls: BH at q rejects anything at all in at most about a q share of scans."""
    rng = np.random.default_rng(1)
    q = 0.05
    scans = [benjamini_hochberg(rng.uniform(size=2000), q) for _ in range(400)]
    any_alarm = np.mean([s.discoveries > 0 for s in scans])
    assert any_alarm <= q + 0.03
    assert np.mean([s.discoveries for s in scans]) <= 2 * q


def test_planted_signals_are_found_with_few_false_ones():
    rng = np.random.default_rng(2)
    nulls = rng.uniform(size=5000)
    signals = norm.sf(rng.normal(5.0, 1.0, size=50))
    result = benjamini_hochberg(np.concatenate([signals, nulls]), 0.05)
    found, false = result.rejected[:50].sum(), result.rejected[50:].sum()
    assert found >= 40
    assert false / max(found + false, 1) <= 0.1


def test_untested_entries_are_ignored_and_shape_kept():
    p = np.array([[0.001, np.nan], [0.5, 0.002]])
    result = benjamini_hochberg(p, 0.05)
    assert result.tests == 3 and result.rejected.shape == (2, 2)
    assert np.isnan(result.q_values[0, 1]) and not result.rejected[0, 1]
    assert result.rejected[0, 0] and result.rejected[1, 1] and not result.rejected[1, 0]


def test_nothing_to_reject_and_bad_input():
    assert benjamini_hochberg([], 0.05).threshold == 0.0
    assert benjamini_hochberg([0.9, 0.8], 0.05).discoveries == 0
    with pytest.raises(ValueError):
        benjamini_hochberg([0.1], 1.5)
    with pytest.raises(ValueError):
        benjamini_hochberg([1.2], 0.05)
