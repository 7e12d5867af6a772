"""False-discovery control for a scan: many slices × metrics are tested, few should be reported by chance.

`benjamini_hochberg` is the step-up procedure of Benjamini & Hochberg (1995), "Controlling the false
discovery rate: a practical and powerful approach to multiple testing", JRSS B 57(1):289–300. Among m
tests with p-values p_(1) ≤ … ≤ p_(m), it rejects the k smallest, k the largest i with p_(i) ≤ i·q/m;
the expected share of false discoveries among the rejections is then at most q (for independent or
positively dependent tests — nested slices of one metric move together, which is positive dependence).
The q-value of a test is the smallest FDR level at which it would be rejected (the BH-adjusted p-value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FDRResult:
    """``rejected`` and ``q_values`` align with the input; ``threshold`` is the largest rejected p-value
    (0 when nothing is rejected): every test with p ≤ ``threshold`` is a discovery."""

    rejected: np.ndarray
    q_values: np.ndarray
    threshold: float
    level: float
    tests: int

    @property
    def discoveries(self) -> int:
        return int(self.rejected.sum())


def benjamini_hochberg(p_values, q: float = 0.05) -> FDRResult:
    """Benjamini–Hochberg step-up at FDR level ``q`` over the finite entries of ``p_values``.

    NaN entries are "not tested": they are neither rejected nor counted in m. Vectorized: one sort.
    """
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    p = np.asarray(p_values, dtype=float)
    shape = p.shape
    p = p.ravel()
    tested = np.isfinite(p)
    if np.any((p[tested] < 0) | (p[tested] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = int(tested.sum())
    q_values = np.full(p.shape, np.nan)
    rejected = np.zeros(p.shape, dtype=bool)
    if m == 0:
        return FDRResult(rejected.reshape(shape), q_values.reshape(shape), 0.0, q, 0)
    index = np.flatnonzero(tested)
    order = index[np.argsort(p[index], kind="stable")]
    ranked = p[order]
    ranks = np.arange(1, m + 1)
    adjusted = np.minimum.accumulate((ranked * m / ranks)[::-1])[::-1]
    q_values[order] = np.minimum(adjusted, 1.0)
    below = np.flatnonzero(ranked <= ranks * q / m)
    threshold = float(ranked[below[-1]]) if below.size else 0.0
    if below.size:
        rejected[order[: below[-1] + 1]] = True
    return FDRResult(rejected.reshape(shape), q_values.reshape(shape), threshold, q, m)
