"""The noise models of the slice pursuit: the Poisson deviance at zero counts, and the joint
(Newton) factors of overlapping slices against coordinate ascent from the same cell statistics."""

from __future__ import annotations

import numpy as np

from detection.localize_models import PoissonNoise


def _coordinate_ascent(member_of: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Iterative proportional fitting to convergence: each slice's factor in turn matches its
    observed events."""
    factors = np.ones(member_of.shape[1])
    previous = np.zeros_like(factors)
    while np.max(np.abs(factors - previous)) > 1e-14:
        previous = factors.copy()
        for i in range(len(factors)):
            others = np.where(member_of, factors[None, :], 1.0)
            others[:, i] = 1.0
            m_other = others.prod(axis=1)[member_of[:, i]]
            factors[i] = a[member_of[:, i]].sum() / (m_other @ b[member_of[:, i]])
    return factors


def _overlapping_cells(k: int) -> np.ndarray:
    """Every non-empty combination of k overlapping slices as a cell (a block's cells)."""
    return np.array([[(c >> i) & 1 for i in range(k)] for c in range(1, 1 << k)], dtype=bool)


def test_joint_factors_are_the_likelihood_optimum_coordinate_ascent_converges_to():
    rng = np.random.default_rng(3)
    member_of = _overlapping_cells(4)
    truth = np.array([2.5, 0.4, 1.3, 0.8])
    b = rng.uniform(5.0, 200.0, len(member_of))
    a = rng.poisson(b * np.prod(np.where(member_of, truth, 1.0), axis=1)).astype(float)
    joint = PoissonNoise.joint_factors(member_of, a, b, start=None)
    assert joint is not None
    np.testing.assert_allclose(joint, _coordinate_ascent(member_of, a, b), rtol=1e-8)
    # each slice's expected events under the joint factors equal its observed ones (the score is 0)
    rate = b * np.prod(np.where(member_of, joint, 1.0), axis=1)
    np.testing.assert_allclose(member_of.T @ rate, member_of.T @ a, rtol=1e-9)
    # from a warm start, the same optimum
    warm = PoissonNoise.joint_factors(member_of, a, b, start=joint * 1.1)
    np.testing.assert_allclose(warm, joint, rtol=1e-9)


def test_joint_factors_decline_where_newton_cannot_reach_the_optimum():
    rng = np.random.default_rng(4)
    member_of = _overlapping_cells(3)
    b = rng.uniform(5.0, 50.0, len(member_of))
    a = rng.poisson(b).astype(float)
    no_events = a.copy()
    no_events[member_of[:, 1]] = 0.0  # slice 1 saw no event: its factor is 0, not an interior optimum
    assert PoissonNoise.joint_factors(member_of, no_events, b) is None
    twins = np.column_stack([member_of, member_of[:, 0]])  # two slices on the same cells
    assert PoissonNoise.joint_factors(twins, a, b) is None


def test_poisson_deviance_is_zero_at_the_mean_and_handles_zero_counts():
    y = np.array([0.0, 0.0, 3.0, 10.0, 4.0])
    e = np.array([1.0, 2.0, 3.0, 5.0, 1e-9])
    model = PoissonNoise(y, e)
    model.restrict(np.ones(len(y), dtype=bool))
    idx = np.arange(len(y))
    mu = np.array([1.0, 0.0, 3.0, 5.0, 2.0])
    expected = 2.0 * np.array([1.0, 1e-300, 0.0, 10.0 * np.log(2.0) - 5.0, 4.0 * np.log(2.0) - 2.0])
    np.testing.assert_allclose(model.deviance(idx, mu), expected, rtol=1e-12, atol=1e-300)
