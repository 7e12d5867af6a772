"""Power: sample sizes equal the closed forms; the design effect; the ICC estimator recovers a known ICC."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower, tt_ind_solve_power
from statsmodels.stats.proportion import proportion_effectsize

from data.engines import DuckDBEngine
from recommendations.experiment import ClusterStats, design_effect, icc_anova, sample_size_means, \
    sample_size_proportions


class _OW:
    """Just enough of an OpenWorkspace for `icc_anova`: a DuckDB engine over the ``records`` view."""

    def __init__(self, frame: pd.DataFrame):
        self.con = duckdb.connect()
        self.con.register("frame", frame)
        self.con.execute("CREATE VIEW records AS SELECT * FROM frame")
        self.engine = DuckDBEngine(self.con)


def fleiss(p1: float, p2: float, alpha: float, power: float) -> float:
    """Classic two-proportion sample size per arm (pooled variance under H0, Fleiss 1981)."""
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    pbar = (p1 + p2) / 2
    return (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2


@pytest.mark.parametrize("p1,p2", [(0.82, 0.88), (0.80, 0.85), (0.50, 0.52), (0.05, 0.06), (0.956, 0.97),
                                   (0.30, 0.25)])
@pytest.mark.parametrize("alpha,power", [(0.05, 0.8), (0.01, 0.9)])
def test_two_proportion_sample_size(p1, p2, alpha, power):
    n = sample_size_proportions(p1, p2, alpha, power)
    h = abs(proportion_effectsize(p2, p1))
    arcsine = 2 * ((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / h) ** 2  # closed form on Cohen's h
    assert n == pytest.approx(arcsine, rel=1e-3)
    assert n == pytest.approx(NormalIndPower().solve_power(h, alpha=alpha, power=power), rel=1e-6)
    assert n == pytest.approx(fleiss(p1, p2, alpha, power), rel=0.01)


@pytest.mark.parametrize("delta,sd", [(0.5, 6.0), (2.0, 8.0), (0.1, 0.5), (3.0, 30.0)])
@pytest.mark.parametrize("alpha,power", [(0.05, 0.8), (0.01, 0.9)])
def test_two_mean_sample_size(delta, sd, alpha, power):
    n = sample_size_means(delta, sd, alpha, power)
    closed = 2 * sd**2 * (norm.ppf(1 - alpha / 2) + norm.ppf(power)) ** 2 / delta**2
    assert n == pytest.approx(closed, rel=1e-3)
    # the t-test version differs only by the t vs z quantiles: within 1 % at these sizes
    assert n == pytest.approx(tt_ind_solve_power(delta / sd, alpha=alpha, power=power), rel=0.01)


def test_no_effect_needs_infinite_sample():
    assert math.isinf(sample_size_proportions(0.8, 0.8))
    assert math.isinf(sample_size_means(0.0, 1.0))


@pytest.mark.parametrize("m,icc", [(1, 0.3), (10, 0.0), (38, 0.0062), (120, 0.05)])
def test_design_effect(m, icc):
    assert design_effect(m, icc) == pytest.approx(1 + (m - 1) * icc)


def _clustered(rng, k: int, m: int, icc: float, binary: bool) -> pd.DataFrame:
    sizes = rng.poisson(m, k) + 1
    cluster = np.repeat(np.arange(k), sizes)
    if binary:  # cluster probabilities from Beta(a, b): ICC = 1 / (a + b + 1)
        p = 0.3
        s = 1 / icc - 1
        probs = rng.beta(p * s, (1 - p) * s, k)
        y = (rng.random(len(cluster)) < probs[cluster]).astype(float)
    else:
        y = rng.normal(0, math.sqrt(icc), k)[cluster] + rng.normal(0, math.sqrt(1 - icc), len(cluster))
    return pd.DataFrame({"cluster": cluster.astype(str), "y": y})


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("icc", [0.02, 0.1, 0.3])
def test_icc_estimator_recovers_known_icc(binary, icc):
    rng = np.random.default_rng(int(icc * 1000) + binary)
    frame = _clustered(rng, k=600, m=30, icc=icc, binary=binary)
    stats = icc_anova(_OW(frame), "y", "cluster")
    assert isinstance(stats, ClusterStats) and stats.clusters == 600
    assert stats.mean_size == pytest.approx(len(frame) / 600)
    # the ANOVA estimator's SE at k=600, m=30 is about 0.1 * ICC + 0.005
    assert stats.icc == pytest.approx(icc, abs=0.2 * icc + 0.006)


def test_icc_is_zero_without_clustering():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"cluster": rng.integers(0, 300, 9000).astype(str), "y": rng.normal(size=9000)})
    assert icc_anova(_OW(frame), "y", "cluster").icc < 0.01
