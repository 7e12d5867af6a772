"""Expected-impact intervals cover the truth on simulated data with a known answer."""

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
        scene = fit_scene(ow, [SCOPE], ModelSettings(kind="glm", sample=3000, bootstrap=40, seed=seed))
        now = evaluation(ow, scene, SCOPE, world.t0, end, 100_000)
        model = scene_estimates(ow, scene, now, [DriverChange("batching_threshold", "set", 2.0)])
        for method, estimates in (("did", did), ("model", model)):
            for name, e in estimates.items():
                hits.setdefault(f"{method}:{name}", []).append(e.interval.contains(truth[name]))
    return {k: float(np.mean(v)) for k, v in hits.items()}, {k: len(v) for k, v in hits.items()}


@pytest.mark.parametrize("method", ["did", "model"])
@pytest.mark.parametrize("metric", [m["name"] for m in METRICS])
def test_intervals_cover_the_truth(coverage, method, metric):
    rates, counts = coverage
    key = f"{method}:{metric}"
    assert counts[key] == SEEDS
    print(f"coverage {key}: {rates[key]:.2f}")
    assert rates[key] >= 0.9


def test_did_needs_a_control_group_and_days_on_both_sides(sim_ws, sim_world):
    _, hi = time_range(sim_ws)
    assert did_estimates(sim_ws, (), sim_world.t0, hi) == {}
    assert did_estimates(sim_ws, SCOPE, hi - timedelta(hours=30), hi) == {}
