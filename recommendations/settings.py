"""The workspace's ``recommendations:`` section, validated, and the action catalogue it extends.

```yaml
recommendations:
  currency: "$"
  unit_costs:                          # money per unit
    courier_minutes_per_order: 0.35    # a metric name: money per unit of the metric per order
    courier_incentive_per_order: 1.20  # a named cost an action refers to: money per affected order
  actions:                             # added to the built-in catalogue (same id: replaces it)
    - {id: surge_fee, title: "Add a surge fee in {scope}", hypotheses: [supply], lever: none}
  model: {kind: lightgbm, sample: 20000, bootstrap: 30, seed: 0}
  experiment: {alpha: 0.05, power: 0.8, min_days: 7, max_days: 56, units: {store: store_id}}
  max_actions: 4
```

`load_settings(workspace)` raises `WorkspaceError` naming the file and the key at fault
(``recommendations.actions.surge_fee.cost: ...``). The built-in catalogue is ``actions.yaml`` beside
this file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data.errors import UserError, WorkspaceError, validation_problem
from data.workspace import IDENTIFIER, Workspace
from recommendations.types import Action, ActionScope, Effort, Lever, Randomization

CATALOGUE_FILE = Path(__file__).with_name("actions.yaml")
ModelKind = Literal["lightgbm", "glm"]  # the outcome models behind impacts and what-ifs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionSpec(_Strict):
    """A workspace's own action as written (lists, defaults); `to_action` makes it the catalogue's `Action`."""

    id: str
    title: str
    description: str = ""
    hypotheses: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    lever: Lever
    feature: str | None = None
    value: float | str | None = None
    scope: ActionScope = "cause"
    randomization: Randomization = "order"
    interference: str | None = None
    cost: str | None = None
    effort: Effort = "medium"
    generic: bool = False

    def to_action(self) -> Action:
        return Action(id=self.id, title=self.title, description=" ".join(self.description.split()),
                      hypotheses=tuple(self.hypotheses), tags=tuple(self.tags), lever=self.lever,
                      feature=self.feature, value=self.value, scope=self.scope, randomization=self.randomization,
                      interference=" ".join(self.interference.split()) if self.interference else None,
                      cost=self.cost, effort=self.effort, generic=self.generic)


class ModelSettings(_Strict):
    """The outcome model behind counterfactual impacts and what-ifs."""

    kind: ModelKind = "lightgbm"
    sample: Annotated[int, Field(ge=500, le=2_000_000)] = 12_000
    eval_sample: Annotated[int, Field(ge=200, le=500_000)] = 5_000
    bootstrap: Annotated[int, Field(ge=5, le=1000)] = 20
    rounds: Annotated[int, Field(ge=10, le=2000)] = 50
    seed: int = 0


class ExperimentSettings(_Strict):
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    power: Annotated[float, Field(gt=0.5, lt=1)] = 0.8
    traffic_share: Annotated[float, Field(gt=0, le=1)] = 1.0  # share of eligible traffic in the test
    min_days: Annotated[int, Field(ge=1, le=365)] = 7
    max_days: Annotated[int, Field(ge=1, le=365)] = 56
    guardrail_margin: Annotated[float, Field(gt=0, lt=1)] = 0.02  # relative worsening tolerated
    switchback_hours: Annotated[int, Field(ge=1, le=24)] = 1
    units: dict[str, str] = Field(default_factory=dict)  # store/region/market -> dimension name


class RecommendationSettings(_Strict):
    currency: str = "$"
    unit_costs: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    actions: list[ActionSpec] = Field(default_factory=list)
    model: ModelSettings = Field(default_factory=ModelSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)
    max_actions: Annotated[int, Field(ge=1, le=20)] = 4
    max_causes: Annotated[int, Field(ge=1, le=20)] = 3


@lru_cache(maxsize=1)
def builtin_actions() -> tuple[Action, ...]:
    """The shipped catalogue (``actions.yaml``), parsed once."""
    raw = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    try:
        specs = [ActionSpec.model_validate(a) for a in raw["actions"]]
    except ValidationError as err:  # a broken shipped file is a bug, but say where
        raise WorkspaceError(str(CATALOGUE_FILE), str(err.errors()[0])) from None
    return tuple(s.to_action() for s in specs)


def _fail(ws: Workspace, key: str, problem: str) -> WorkspaceError:
    return WorkspaceError(str(ws.source_file), f"recommendations.{key}: {problem}" if key else problem)


def load_settings(ws: Workspace) -> RecommendationSettings:
    """Validate ``ws.recommendations`` against the workspace; raise `WorkspaceError` naming the key."""
    raw = ws.recommendations or {}
    try:
        settings = RecommendationSettings.model_validate(raw)
    except ValidationError as err:
        loc, msg = validation_problem(err, raw)
        raise WorkspaceError(str(ws.source_file), f"recommendations.{loc}: {msg}") from None
    features = set(ws.records.features)
    dimensions = set(ws.records.dimensions)
    seen: set[str] = set()
    for spec in settings.actions:
        key = f"actions.{spec.id}"
        if not IDENTIFIER.match(spec.id):
            raise _fail(ws, key + ".id", f"{spec.id!r} is not a valid id (letters, digits, _)")
        if spec.id in seen:
            raise _fail(ws, key, "id is listed twice")
        seen.add(spec.id)
        if spec.feature is not None and spec.feature not in features:
            raise _fail(ws, key + ".feature", f"{spec.feature!r} is not a feature of this workspace "
                                              f"({', '.join(ws.records.features) or 'none'})")
        if spec.lever in ("set_feature", "scale_feature", "shift_feature"):
            if spec.feature is None:
                raise _fail(ws, key + ".feature", f"lever {spec.lever} needs a feature")
            if spec.value is None:
                raise _fail(ws, key + ".value", f"lever {spec.lever} needs a value")
            if spec.lever != "set_feature" and not isinstance(spec.value, (int, float)):
                raise _fail(ws, key + ".value", f"lever {spec.lever} needs a number, got {spec.value!r}")
        if spec.cost is not None and spec.cost not in settings.unit_costs:
            raise _fail(ws, key + ".cost", f"{spec.cost!r} is not in recommendations.unit_costs")
        try:
            spec.title.format(event="", feature="", baseline="", current="", scope="", value="")
        except (KeyError, IndexError, ValueError) as err:
            raise _fail(ws, key + ".title", f"unknown placeholder {err} (use event, feature, baseline, "
                                            "current, scope, value)") from None
    for unit, dim in settings.experiment.units.items():
        if unit not in ("store", "region", "market"):
            raise _fail(ws, f"experiment.units.{unit}", "unknown unit (store, region, market)")
        if dim not in dimensions:
            raise _fail(ws, f"experiment.units.{unit}", f"{dim!r} is not a dimension "
                                                        f"({', '.join(ws.records.dimensions)})")
    if settings.experiment.min_days > settings.experiment.max_days:
        raise _fail(ws, "experiment.min_days", "is larger than experiment.max_days")
    return settings


def with_model_overrides(settings: RecommendationSettings, **overrides) -> RecommendationSettings:
    """``settings`` with some ``model`` keys replaced (None: keep), validated; UserError naming the key."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return settings
    try:
        model = ModelSettings.model_validate({**settings.model.model_dump(), **changes})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(x) for x in first["loc"])
        raise UserError(f"model setting {key}={changes.get(key)!r}: {first['msg']}") from None
    return settings.model_copy(update={"model": model})


def catalogue(ws: Workspace, settings: RecommendationSettings | None = None) -> tuple[Action, ...]:
    """The built-in actions, with the workspace's own actions added (an equal id replaces the built-in)."""
    settings = settings or load_settings(ws)
    own = {a.id: a.to_action() for a in settings.actions}
    merged = [own.pop(a.id, a) for a in builtin_actions()]
    return tuple(merged + list(own.values()))
