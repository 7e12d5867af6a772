"""What-if simulator: the predicted change of every metric when drivers change in a scope.

    whatif(ow, [DriverChange("batching_threshold", "set", 2), DriverChange("courier_supply_ratio", "scale", 1.1)],
           scope="region=west")

fits the outcome model (`recommendations.counterfactual`, LightGBM or GLM on a sample pulled from
DuckDB) and predicts the scope's most recent ``window_days`` of records with and without the changes;
the difference of mean predictions is the change of each metric, with a bootstrap interval. It is a
model-based answer: it holds only as far as the drivers vary in the data (a value never seen is
extrapolated) and does not include effects the drivers do not carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from data.errors import UserError
from data.slices import Slice
from data.sources import OpenWorkspace
from recommendations.counterfactual import DriverChange, check_changes, evaluation, fit_scene, scene_estimates
from recommendations.impact import build_impact
from recommendations.records import check_scope, parse_scope_text, time_range, window_stats
from recommendations.settings import RecommendationSettings, load_settings, with_model_overrides
from recommendations.types import WhatIfResult


def whatif(ow: OpenWorkspace, changes: Iterable[DriverChange], scope: str | tuple[Slice, ...] = "*", *,
           window_days: float = 7.0, settings: RecommendationSettings | None = None, model: str | None = None,
           bootstrap: int | None = None, sample: int | None = None, seed: int | None = None) -> WhatIfResult:
    """Predicted change of every metric in ``scope`` when ``changes`` apply (see the module docstring).

    Raises `UserError` naming an unknown feature, a value of the wrong type, or a scope that names an
    unknown dimension or matches no records.
    """
    changes = list(changes)
    if not changes:
        raise UserError("give at least one change (--set, --scale or --shift)")
    if any(c.op == "restore" for c in changes):
        raise UserError("a what-if needs explicit changes (set, scale or shift), not 'restore'")
    ws = ow.workspace
    settings = settings or load_settings(ws)
    model_settings = with_model_overrides(settings, kind=model, bootstrap=bootstrap, sample=sample, seed=seed).model
    scope = parse_scope_text(scope) if isinstance(scope, str) else tuple(scope)
    check_scope(ow, scope, "scope")
    check_changes(ow, changes)
    if window_days <= 0:
        raise UserError(f"--window-days must be positive, got {window_days}")
    _, hi = time_range(ow)
    end = hi + timedelta(seconds=1)
    start = end - timedelta(days=window_days)
    scene = fit_scene(ow, [scope], model_settings)
    now = evaluation(ow, scene, scope, start, end, model_settings.eval_sample)
    estimates = scene_estimates(ow, scene, now, changes)
    described = ", ".join(c.describe() for c in changes)
    impact = build_impact(ws, scope, window_stats(ow, scope, start, end), window_stats(ow, (), start, end),
                          {name: [e] for name, e in estimates.items()}, described, (start, end))
    return WhatIfResult(tuple(c.describe() for c in changes), impact, model_settings.kind, scene.sample,
                        model_settings.bootstrap)
