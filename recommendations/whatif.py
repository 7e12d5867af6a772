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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from data.errors import UserError
from data.slices import Slice
from data.sources import OpenWorkspace
from recommendations.counterfactual import (
    DriverChange, Scene, check_changes, evaluation, fit_scene, scene_estimates,
)
from recommendations.impact import build_impact
from recommendations.records import WindowStats, check_scope, parse_scope_text, time_range, window_stats
from recommendations.settings import ModelSettings, RecommendationSettings, load_settings, with_model_overrides
from recommendations.types import WhatIfResult


@dataclass
class WhatIfModel:
    """What every what-if on one scope and window shares: the fitted outcome model, the scope's recent
    records it predicts on (with their as-is predictions, kept in ``memo`` after the first answer) and the
    window's volumes. `prepare_whatif` builds it; `answer` applies any driver changes to it, so a
    caller that keeps it (`backend.whatif`) answers the next what-if without refitting — the same
    numbers, intervals included, as a fresh fit (same sample, seeds and replicates)."""

    scope: tuple[Slice, ...]
    window: tuple[datetime, datetime]
    settings: ModelSettings
    scene: Scene
    now: pd.DataFrame
    scope_stats: WindowStats
    all_stats: WindowStats
    memo: dict = field(default_factory=dict)

    def answer(self, ow: OpenWorkspace, changes: Iterable[DriverChange]) -> WhatIfResult:
        changes = check_whatif_changes(ow, changes)
        estimates = scene_estimates(ow, self.scene, self.now, changes, memo=self.memo)
        described = ", ".join(c.describe() for c in changes)
        impact = build_impact(ow.workspace, self.scope, self.scope_stats, self.all_stats,
                              {name: [e] for name, e in estimates.items()}, described, self.window,
                              applied=tuple(changes))
        return WhatIfResult(tuple(c.describe() for c in changes), impact, self.settings.kind, self.scene.sample,
                            self.settings.bootstrap)


def check_whatif_changes(ow: OpenWorkspace, changes: Iterable[DriverChange]) -> list[DriverChange]:
    """The changes as a list; UserError when there are none, one is a 'restore' or names a bad feature/value."""
    changes = list(changes)
    if not changes:
        raise UserError("give at least one change (--set, --scale or --shift)")
    if any(c.op == "restore" for c in changes):
        raise UserError("a what-if needs explicit changes (set, scale or shift), not 'restore'")
    check_changes(ow, changes)
    return changes


def whatif_settings(ow: OpenWorkspace, *, settings: RecommendationSettings | None = None, model: str | None = None,
                    bootstrap: int | None = None, sample: int | None = None, seed: int | None = None) -> ModelSettings:
    """The outcome model's settings: the workspace's ``recommendations.model`` with these overrides."""
    settings = settings or load_settings(ow.workspace)
    return with_model_overrides(settings, kind=model, bootstrap=bootstrap, sample=sample, seed=seed).model


def prepare_whatif(ow: OpenWorkspace, scope: str | tuple[Slice, ...], model_settings: ModelSettings, *,
                   window_days: float = 7.0, progress: Callable[[str], None] = lambda stage: None) -> WhatIfModel:
    """Fit the outcome model for ``scope`` and draw the scope's last ``window_days`` of records to predict;
    ``progress`` hears each stage. UserError for a scope naming an unknown dimension or matching nothing."""
    scope = parse_scope_text(scope) if isinstance(scope, str) else tuple(scope)
    check_scope(ow, scope, "scope")
    if window_days <= 0:
        raise UserError(f"--window-days must be positive, got {window_days}")
    _, hi = time_range(ow)
    end = hi + timedelta(seconds=1)
    start = end - timedelta(days=window_days)
    progress(f"fitting the outcome model ({model_settings.kind}, {model_settings.sample:,} records, "
             f"{model_settings.bootstrap} bootstrap replicates)")
    scene = fit_scene(ow, [scope], model_settings)
    progress("drawing the scope's recent records")
    now = evaluation(ow, scene, scope, start, end, model_settings.eval_sample)
    return WhatIfModel(scope, (start, end), model_settings, scene, now, window_stats(ow, scope, start, end),
                       window_stats(ow, (), start, end))


def whatif(ow: OpenWorkspace, changes: Iterable[DriverChange], scope: str | tuple[Slice, ...] = "*", *,
           window_days: float = 7.0, settings: RecommendationSettings | None = None, model: str | None = None,
           bootstrap: int | None = None, sample: int | None = None, seed: int | None = None) -> WhatIfResult:
    """Predicted change of every metric in ``scope`` when ``changes`` apply (see the module docstring).

    Raises `UserError` naming an unknown feature, a value of the wrong type, or a scope that names an
    unknown dimension or matches no records.
    """
    changes = check_whatif_changes(ow, changes)
    model_settings = whatif_settings(ow, settings=settings, model=model, bootstrap=bootstrap, sample=sample, seed=seed)
    return prepare_whatif(ow, scope, model_settings, window_days=window_days).answer(ow, changes)
