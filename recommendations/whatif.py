"""What-if simulator: the predicted change of every metric when drivers change in a scope.

    whatif(ow, [DriverChange("batching_threshold", "set", 2), DriverChange("courier_supply_ratio", "scale", 1.1)],
           scope="region=west")

fits the outcome model (`recommendations.counterfactual`, LightGBM or GLM on a sample pulled from
DuckDB) and predicts the scope's most recent ``window_days`` of records with and without the changes;
the difference of mean predictions is the change of each metric, with a bootstrap interval. It is a
model-based answer: it holds only as far as the drivers vary in the data (a value never seen is
extrapolated) and does not include effects the drivers do not carry.

Everything but the last step is the same for every what-if on one scope, window and data
(`WhatIfModel`): `prepare_whatif` fits it (or takes an outcome model the recommendations already fitted
identically), `WhatIfModel.save`/`load` keep it on disk as data (LightGBM's text format, JSON, Parquet;
no pickle), and `WhatIfModel.answer` applies one what-if's changes to it — predictions of the changed
records only, the same numbers as a fresh fit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import UserError
from data.slices import Slice, scope_text
from data.sources import OpenWorkspace
from data.workspace import Workspace
from recommendations.counterfactual import (
    ENCODED, DriverChange, Scene, check_changes, evaluation, fit_scene, predict_as_is, scene_estimates,
)
from recommendations.model import OutcomeEnsemble
from recommendations.impact import build_impact
from recommendations.records import WindowStats, check_scope, parse_scope_text, time_range, window_stats_many
from recommendations.settings import ModelSettings, RecommendationSettings, load_settings, with_model_overrides
from recommendations.types import WhatIfResult

DEFAULT_WINDOW_DAYS = 7.0
FORMAT = 1  # of a saved WhatIfModel; another version is not read (it is prepared again)
MODEL_FILE, RECORDS_FILE = "model.json", "records.parquet"


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

    def predict_as_is(self, ow: OpenWorkspace) -> "WhatIfModel":
        """Predict the records as they are (kept in ``memo``): what every later answer compares with."""
        predict_as_is(ow, self.scene, self.now, self.memo)
        return self

    def save(self, folder: Path) -> None:
        """Write the model to ``folder`` (which must not exist yet; the caller renames it into place):
        the fitted ensemble and everything around it as JSON, the records it predicts as Parquet."""
        scene = self.scene
        if scene.treatment_flags:
            raise ValueError("a what-if model has no treatment flags")
        memo = {k: v.tolist() for k, v in self.memo.items() if k != ENCODED}
        state = {
            "format": FORMAT, "scope": scope_text(self.scope), "window": [t.isoformat() for t in self.window],
            "settings": self.settings.model_dump(), "scope_stats": asdict(self.scope_stats),
            "all_stats": asdict(self.all_stats), "memo": memo,
            "scene": {"ensemble": scene.ensemble.state(), "select": scene.select,
                      "scope_flags": [[scope_text(k), v] for k, v in scene.scope_flags.items()],
                      "sample": scene.sample, "hidden": list(scene.hidden),
                      "scopes": [scope_text(x) for x in scene.scopes]}}
        folder.mkdir(parents=True)
        self.now.to_parquet(folder / RECORDS_FILE, index=False)
        (folder / MODEL_FILE).write_text(json.dumps(state))

    @classmethod
    def load(cls, folder: Path) -> "WhatIfModel | None":
        """The model `save` wrote to ``folder``; None when it is not there or of another format."""
        try:
            state = json.loads((folder / MODEL_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            return None
        settings = ModelSettings.model_validate(state["settings"])
        sc = state["scene"]
        ensemble = OutcomeEnsemble.from_state(sc["ensemble"])
        scene = Scene(ensemble, list(ensemble.targets_), list(sc["select"]),
                      {parse_scope_text(k): v for k, v in sc["scope_flags"]}, {}, int(sc["sample"]), settings.kind,
                      settings.bootstrap, settings.seed, tuple(sc["hidden"]),
                      tuple(parse_scope_text(x) for x in sc["scopes"]), settings)
        start, end = (datetime.fromisoformat(t) for t in state["window"])
        memo: dict = {k: np.array(v, dtype=np.float64) for k, v in state["memo"].items()}
        return cls(parse_scope_text(state["scope"]), (start, end), settings, scene,
                   pd.read_parquet(folder / RECORDS_FILE), WindowStats(**state["scope_stats"]),
                   WindowStats(**state["all_stats"]), memo)


def check_whatif_changes(ow: OpenWorkspace, changes: Iterable[DriverChange]) -> list[DriverChange]:
    """The changes as a list; UserError when there are none, one is a 'restore' or names a bad feature/value."""
    changes = list(changes)
    if not changes:
        raise UserError("give at least one change (--set, --scale or --shift)")
    if any(c.op == "restore" for c in changes):
        raise UserError("a what-if needs explicit changes (set, scale or shift), not 'restore'")
    check_changes(ow, changes)
    return changes


def whatif_settings(ws: Workspace, *, settings: RecommendationSettings | None = None, model: str | None = None,
                    bootstrap: int | None = None, sample: int | None = None, seed: int | None = None) -> ModelSettings:
    """The outcome model's settings: the workspace's ``recommendations.model`` with these overrides."""
    settings = settings or load_settings(ws)
    return with_model_overrides(settings, kind=model, bootstrap=bootstrap, sample=sample, seed=seed).model


def prepare_whatif(ow: OpenWorkspace, scope: str | tuple[Slice, ...], model_settings: ModelSettings, *,
                   window_days: float = DEFAULT_WINDOW_DAYS, fitted: Sequence[Scene] = (),
                   progress: Callable[[str, float], None] = lambda stage, done: None) -> WhatIfModel:
    """Fit the outcome model for ``scope`` and draw the scope's last ``window_days`` of records to predict.

    A scene of ``fitted`` that is that very model (`Scene.fitted_as`: fitted on these records for this
    one scope with these settings, as the recommendations fit it for an incident) is used instead of
    fitting it again. ``progress`` hears each stage with the fraction of this preparation done.
    UserError for a scope naming an unknown dimension or matching nothing.
    """
    scope = parse_scope_text(scope) if isinstance(scope, str) else tuple(scope)
    check_scope(ow, scope, "scope")
    if window_days <= 0:
        raise UserError(f"--window-days must be positive, got {window_days}")
    _, hi = time_range(ow)
    end = hi + timedelta(seconds=1)
    start = end - timedelta(days=window_days)
    scene = next((s for s in fitted if s.fitted_as(scope, model_settings)), None)
    if scene is None:
        stage = (f"fitting the outcome model ({model_settings.kind}, {model_settings.sample:,} records, "
                 f"{model_settings.bootstrap} bootstrap replicates)")
        progress(stage, 0.0)
        scene = fit_scene(ow, [scope], model_settings, progress=lambda done: progress(stage, 0.9 * done))
    progress("drawing the scope's recent records", 0.9)
    now = evaluation(ow, scene, scope, start, end, model_settings.eval_sample)
    progress("summing the window's records", 0.95)
    stats = window_stats_many(ow, [(scope, start, end), ((), start, end)])
    return WhatIfModel(scope, (start, end), model_settings, scene, now, stats[(scope, start, end)],
                       stats[((), start, end)])


def whatif(ow: OpenWorkspace, changes: Iterable[DriverChange], scope: str | tuple[Slice, ...] = "*", *,
           window_days: float = DEFAULT_WINDOW_DAYS, settings: RecommendationSettings | None = None, model: str | None = None,
           bootstrap: int | None = None, sample: int | None = None, seed: int | None = None) -> WhatIfResult:
    """Predicted change of every metric in ``scope`` when ``changes`` apply (see the module docstring).

    Raises `UserError` naming an unknown feature, a value of the wrong type, or a scope that names an
    unknown dimension or matches no records.
    """
    changes = check_whatif_changes(ow, changes)
    model_settings = whatif_settings(ow.workspace, settings=settings, model=model, bootstrap=bootstrap, sample=sample,
                                     seed=seed)
    return prepare_whatif(ow, scope, model_settings, window_days=window_days).answer(ow, changes)
