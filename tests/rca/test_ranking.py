"""The ranking model: probabilities over one regression's candidates, and its calibration fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rca.ranking import INPUTS, PRIOR, RankingModel, fit_calibration, group_confidences, load_ranking_model


def _model() -> RankingModel:
    return RankingModel(-2.0, {"did": 1.0, "scope": 2.0}, "test")


def test_a_lone_candidate_gets_the_sigmoid_and_rivals_share_the_belief():
    m = _model()
    strong = {"did": 3.0, "scope": 1.0}
    assert m.confidences([strong])[0] == pytest.approx(1 / (1 + math.exp(-3.0)))
    both = m.confidences([strong, strong])
    assert sum(both) < 1 and both[0] == pytest.approx(both[1])
    weak = m.confidences([strong, {"did": 0.0, "scope": 0.0}])
    assert weak[0] > 0.9 and weak[1] < 0.01


def test_a_rival_with_a_degenerate_input_does_not_poison_the_others():
    m = _model()
    strong = {"did": 3.0, "scope": 1.0}
    alone = m.confidences([strong, {"did": 0.0, "scope": 0.0}])
    with_nan = m.confidences([strong, {"did": float("nan"), "scope": 0.0}])
    assert all(math.isfinite(c) for c in with_nan)
    assert with_nan == pytest.approx(alone)  # a NaN is no evidence, as a missing input is


def test_the_fit_recovers_which_evidence_matters():
    rng = np.random.default_rng(0)
    rows, labels, groups = [], [], []
    for g in range(300):
        true = int(rng.integers(0, 4)) if rng.random() < 0.8 else None  # some regressions have no true candidate
        for c in range(4):
            x = dict.fromkeys(INPUTS, 0.0)
            x["scope"] = float(rng.uniform(0.6, 1.0) if c == true else rng.uniform(0, 0.5))
            x["driver"] = float(rng.integers(0, 2))  # noise
            rows.append(x)
            labels.append(int(c == true))
            groups.append(g)
    model = fit_calibration(rows, labels, groups, l2=0.1)
    assert model.weights["scope"] > 5 and abs(model.weights["driver"]) < 1
    p = np.array(group_confidences(model, rows, groups))
    y = np.array(labels)
    assert p[y == 1].mean() > 0.7 and p[y == 0].mean() < 0.1


def test_the_shipped_calibration_loads_with_every_input():
    model = load_ranking_model()
    assert set(model.weights) == set(INPUTS) and model.source
    assert set(PRIOR) == set(INPUTS) | {"intercept"}
