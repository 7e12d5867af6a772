"""Expected-impact intervals cover the truth on simulated data with a known answer.

50 seeds of a world where a threshold went 2 → 4 in two regions; for each, the DiD and the outcome
model (GLM) estimate what undoing it would change, with 95 % intervals, and `sim.true_rollback_effects`
gives the exact expected change. Criterion: over all metrics, each method's intervals cover the truth
in at least 90 % of cases; each single metric at least 86 % of its 50 seeds (the 1 % binomial lower
bound of a calibrated 95 % interval over 50 draws), so one badly calibrated metric still fails.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from recommendations.counterfactual import DriverChange, evaluation, fit_scene, negate, scene_estimates
from recommendations.impact import did_estimates
from recommendations.records import time_range
from recommendations.settings import ModelSettings
from tests.recommendations import sim
from tests.recommendations.conftest import SCOPE, memory_workspace

SEEDS = 50
METRICS = [m for m in sim.METRICS if m["name"] in ("on_time_rate", "avg_delivery_minutes",
                                                    "courier_minutes_per_order")]


@pytest.fixture(scope="module")
def coverage():
    """For each seed: the DiD and the outcome-model (GLM) estimates of undoing the change, and the truth."""
    hits: dict[str, list[bool]] = {}
    for seed in range(SEEDS):
        world = sim.simulate(seed, orders=3000)
        ow = memory_workspace(world.frame, METRICS)
        _, hi = time_range(ow)
        end = hi + timedelta(seconds=1)
        truth = sim.true_rollback_effects(world, (world.t0, end))
        did = {k: negate(e) for k, e in did_estimates(ow, SCOPE, world.t0, end).items()}
        scene = fit_scene(ow, [SCOPE], ModelSettings(kind="glm", sample=3000, bootstrap=30, seed=seed))
        now = evaluation(ow, scene, SCOPE, world.t0, end, 100_000)
        model = scene_estimates(ow, scene, now, [DriverChange("batching_threshold", "set", 2.0)])
        for method, estimates in (("did", did), ("model", model)):
            for name, e in estimates.items():
                hits.setdefault(f"{method}:{name}", []).append(e.interval.contains(truth[name]))
    return {k: float(np.mean(v)) for k, v in hits.items()}, {k: len(v) for k, v in hits.items()}


@pytest.mark.parametrize("method", ["did", "model"])
def test_intervals_cover_the_truth(coverage, method):
    rates, counts = coverage
    keys = [f"{method}:{m['name']}" for m in METRICS]
    assert all(counts[k] == SEEDS for k in keys)
    for k in keys:
        print(f"coverage {k}: {rates[k]:.2f}")
    assert np.mean([rates[k] for k in keys]) >= 0.9
    assert min(rates[k] for k in keys) >= 0.86


def test_did_needs_a_control_group_and_days_on_both_sides(sim_ws, sim_world):
    _, hi = time_range(sim_ws)
    assert did_estimates(sim_ws, (), sim_world.t0, hi) == {}
    assert did_estimates(sim_ws, SCOPE, hi - timedelta(hours=30), hi) == {}
