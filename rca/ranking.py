"""Ranking: evidence → a calibrated probability that a candidate is the cause.

Each candidate's evidence is reduced to a few numbers that mean the same thing for every kind of
candidate (`score_inputs`): how well its onset matches the change point, how well its scope matches the
regressing traffic, how strong and clean its difference-in-differences effect is, whether refutations
passed, and how much of the change its driver carries by SHAP. A conditional-logit model turns
them into P(cause | evidence) over the candidates of one regression (with a "none of these" option) — a
Bayesian combination in log-odds where each input adds its weight of evidence.

The weights in ``calibration.json`` are fitted (L2-regularized maximum likelihood) on candidates from
generated scenarios whose truth is known, with seeds disjoint from the test seeds; before any fit, the
documented ``prior`` weights apply. `fit_calibration` refits; `benchmarks/calibrate_rca.py` drives it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rca.types import (DidEvidence, EventStudyEvidence, Evidence, PlaceboItsEvidence, PlaceboScopeEvidence,
                       PlaceboTimeEvidence, ScopeEvidence, ShapEvidence, TimingEvidence, test_of)

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")

INPUTS = ("timing", "off_time", "off_interval", "scope", "did", "untestable", "refuted", "refutations_passed", "shap", "driver",
          "pretrend")

# Prior weights (log-odds per unit of each input), set by hand before calibration:
# a candidate that matches in time (−log10 p = 2), scope (Jaccard 1), has a DiD of z = 8 in the regression's
# direction that survives placebos, scores ≈ +5 log-odds (p ≈ 0.99); one with nothing scores −5.
PRIOR = {"intercept": -5.0, "timing": 1.0, "off_time": -3.0, "off_interval": -0.3, "scope": 2.5, "did": 0.6, "untestable": 0.5, "refuted": -1.5,
         "refutations_passed": 1.0, "shap": 1.5, "driver": -0.5, "pretrend": -1.0}


def evidence_summary(evidence: dict[str, Evidence], driver: bool = False) -> dict[str, float]:
    """The raw numbers of a candidate's evidence that the ranking reads (stored with every cause, so the
    model can be refitted without rerunning the tests)."""
    timing = test_of(evidence, TimingEvidence)
    scope = test_of(evidence, ScopeEvidence)
    did = test_of(evidence, DidEvidence)
    es = test_of(evidence, EventStudyEvidence)
    shap = test_of(evidence, ShapEvidence)
    refuters = [e for e in (test_of(evidence, PlaceboTimeEvidence), test_of(evidence, PlaceboScopeEvidence),
                            test_of(evidence, PlaceboItsEvidence)) if e is not None and e.detail.testable]
    raw = {"timing_logp": 0.0, "lost": 0.0, "off_interval": 0.0, "jaccard": 0.0, "covers": 0.0, "precision": 0.0, "z": 0.0,
           "testable": 0.0, "refuted": 0.0, "passed": 0.0, "shap": 0.0, "driver": float(driver), "pretrend": 0.0}
    if timing is not None and timing.p_value is not None:
        raw["timing_logp"] = min(3.0, -math.log10(max(timing.p_value, 1e-3)))
        raw["lost"] = float(timing.detail.share_of_shift_lost or 0.0)
        raw["off_interval"] = min(float(timing.detail.half_widths_outside_interval or 0.0), 5.0)
    if scope is not None and math.isfinite(scope.effect):
        raw["jaccard"] = float(scope.effect)
        raw["covers"] = float(scope.detail.covers_change)
        raw["precision"] = float(scope.detail.regressed_share_of_scope)
    if did is not None and did.detail.testable:
        raw["testable"] = 1.0
        raw["z"] = float(did.detail.z_in_direction or 0.0)
    if refuters:
        raw["refuted"] = float(sum(not e.supports for e in refuters)) / len(refuters)
        raw["passed"] = float(sum(e.supports for e in refuters)) / len(refuters)
    if shap is not None and shap.detail.feature and math.isfinite(shap.effect) and shap.supports:
        raw["shap"] = float(np.clip(shap.effect, 0.0, 1.5))
    if es is not None and es.detail.testable:
        raw["pretrend"] = 1.0 if es.detail.pretrend_violated else 0.0
    return raw


def model_inputs(raw: dict[str, float]) -> dict[str, float]:
    """The ranking model's inputs from the raw evidence numbers.

    The DiD counts only as far as the candidate touches the regressing traffic: an effect measured in a
    scope that shares no records with the regression cannot be its cause (``overlap`` = the larger of
    the two one-sided coverages, doubled and capped at 1, so a half overlap already counts fully).
    """
    overlap = min(1.0, 2.0 * max(raw["covers"], raw["precision"]))
    return {
        "timing": raw["timing_logp"], "off_time": raw["lost"], "off_interval": raw.get("off_interval", 0.0),
        "scope": raw["jaccard"],
        "did": float(np.clip(raw["z"], -4.0, 12.0)) / 4.0 * overlap, "untestable": 1.0 - raw["testable"],
        "refuted": raw["refuted"], "refutations_passed": raw["passed"] * overlap, "shap": raw["shap"],
        "driver": raw["driver"], "pretrend": raw["pretrend"],
    }


def score_inputs(evidence: dict[str, Evidence], driver: bool = False) -> dict[str, float]:
    """The model inputs (and, prefixed ``raw_``, the raw evidence numbers) of a candidate."""
    raw = evidence_summary(evidence, driver)
    return {**model_inputs(raw), **{f"raw_{k}": v for k, v in raw.items()}}


def _finite(value) -> float:
    value = float(value) if value is not None else 0.0
    return value if math.isfinite(value) else 0.0


@dataclass(frozen=True)
class RankingModel:
    """A conditional-logit model over `INPUTS`: every candidate gets a utility z = intercept + w·x, and

        P(candidate i is the cause) = exp(z_i) / (1 + Σ_j exp(z_j)),

    the "1" being the possibility that none of the candidates is (an unlogged, unmeasured cause). The
    probabilities of one regression's candidates sum to at most 1, so two candidates that explain the same
    change equally well share the belief instead of both claiming it; a lone candidate gets the logistic
    sigmoid(z). ``source`` says where the weights came from."""

    intercept: float
    weights: dict[str, float]
    source: str
    bar: float = 0.5  # below this, a top cause is not asserted ("inconclusive")

    def utility(self, inputs: dict[str, float]) -> float:
        """intercept + w·x; an input that is missing or not finite (a degenerate fit) counts as no evidence, 0,
        so one candidate's NaN cannot spread through the shared denominator to its rivals."""
        z = self.intercept + sum(self.weights.get(k, 0.0) * _finite(inputs.get(k, 0.0)) for k in INPUTS)
        return max(min(z, 40.0), -40.0)

    def confidence(self, inputs: dict[str, float]) -> float:
        """The probability for a lone candidate (sigmoid of its utility)."""
        return float(1.0 / (1.0 + math.exp(-self.utility(inputs))))

    def confidences(self, candidates: list[dict[str, float]]) -> list[float]:
        """The probability of each of one regression's candidates being its cause."""
        z = np.array([self.utility(x) for x in candidates])
        if not len(z):
            return []
        top = max(z.max(), 0.0)
        e = np.exp(z - top)
        return [float(v) for v in e / (np.exp(-top) + e.sum())]

    def to_json(self) -> dict:
        return {"intercept": self.intercept, "weights": self.weights, "source": self.source, "bar": self.bar,
                "kind": "conditional logit with a none-of-these option"}


def load_ranking_model(path: Path = CALIBRATION_PATH) -> RankingModel:
    """The calibrated model when ``calibration.json`` exists, else the documented prior."""
    if path.exists():
        doc = json.loads(path.read_text())
        return RankingModel(float(doc["intercept"]), {k: float(v) for k, v in doc["weights"].items()},
                            doc.get("source", str(path)), float(doc.get("bar", 0.5)))
    return RankingModel(PRIOR["intercept"], {k: v for k, v in PRIOR.items() if k != "intercept"}, "prior")


def fit_calibration(rows: list[dict[str, float]], labels: list[int], groups: list | None = None, l2: float = 1.0,
                    source: str = "") -> RankingModel:
    """Maximum-likelihood conditional logit (with the none-of-these option) of which candidate of each
    regression (``groups``) is its cause, L2-shrunk towards the prior weights. Without ``groups`` every
    candidate is its own group, which is plain logistic regression."""
    from scipy.optimize import minimize

    X = np.array([[r[k] for k in INPUTS] for r in rows], float)
    y = np.asarray(labels, float)
    _, g = np.unique(np.asarray(groups if groups is not None else np.arange(len(rows)), dtype=str),
                     return_inverse=True)
    n_groups = int(g.max()) + 1 if len(g) else 0
    prior = np.array([PRIOR["intercept"]] + [PRIOR[k] for k in INPUTS])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.clip(beta[0] + X @ beta[1:], -40, 40)
        e = np.exp(z)
        denom = 1.0 + np.bincount(g, weights=e, minlength=n_groups)
        p = e / denom[g]  # P(candidate) within its regression
        nll = -np.sum(y * z) + np.sum(np.log(denom))
        # d nll / d z_i = p_i - y_i (each regression has at most one true candidate)
        resid = p - y
        diff = beta - prior
        penalty = 0.5 * l2 * np.sum(diff[1:] ** 2)
        grad = np.concatenate([[resid.sum()], X.T @ resid]) + l2 * np.concatenate([[0.0], diff[1:]])
        return nll + penalty, grad

    res = minimize(loss, prior.copy(), jac=True, method="L-BFGS-B")
    beta = res.x
    return RankingModel(float(beta[0]), {k: float(b) for k, b in zip(INPUTS, beta[1:], strict=True)}, source)


def group_confidences(model: RankingModel, rows: list[dict[str, float]], groups: list) -> list[float]:
    """`RankingModel.confidences` for rows of many regressions (``groups`` says which)."""
    out = [0.0] * len(rows)
    by_group: dict = {}
    for i, gid in enumerate(groups):
        by_group.setdefault(gid, []).append(i)
    for members in by_group.values():
        for i, p in zip(members, model.confidences([rows[i] for i in members]), strict=True):
            out[i] = p
    return out
