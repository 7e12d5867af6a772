"""Small values that leave the recommendations stage: impacts, tradeoffs, recommendations, plans.

Every number a user sees carries its unit and an interval. `to_dict()` gives the JSON form the API and
`incidents.json` store unchanged; `ExperimentPlan.from_dict` reads a plan back (for `cxw plan`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal

from data.slices import Slice
from detection.types import Interval

Verdict = Literal["recommended", "recommended_with_cost", "test_first", "not_recommended", "not_estimated"]


def jsonable(value: Any) -> Any:
    """Dataclasses, slices, intervals and datetimes as plain JSON values (NaN becomes None)."""
    if isinstance(value, Slice):
        return value.key
    if isinstance(value, Interval):
        return {"low": jsonable(value.low), "high": jsonable(value.high), "level": value.level}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value) if f.repr}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    return value


def scope_text(scope: tuple[Slice, ...]) -> str:
    """``*`` for everything, else slices joined by ``;`` (the change log's notation)."""
    return ";".join(s.key for s in scope) if scope else "*"


@dataclass(frozen=True)
class Estimate:
    """One method's estimate of a change, in metric units, with its interval.

    ``method`` is ``evidence`` (the DiD carried in the cause), ``did`` (difference-in-differences on
    daily records), ``model`` (counterfactual on a fitted outcome model) or ``none``.
    """

    method: str
    value: float
    interval: Interval
    n: int = 0  # days (did) or records (model) behind it
    note: str = ""


@dataclass(frozen=True)
class MetricImpact:
    """The expected change of one metric in the action's scope.

    ``change`` is in metric units (a rate as a fraction: 0.031 = +3.1 pts). ``per_day`` converts it to
    daily totals in the scope: for a rate, orders per day whose outcome flips; for a mean or ratio,
    metric units × denominator per day (e.g. courier-minutes per day). ``overall_change`` is the change
    of the workspace-wide value. ``improves`` is True/False when the interval lies wholly on the
    good/bad side of zero, None when it straddles zero.
    """

    metric: str
    role: str
    good: str
    type: str
    unit: str
    baseline: float
    change: float
    interval: Interval
    method: str
    per_day: float
    per_day_interval: Interval
    per_day_unit: str
    overall_change: float
    estimates: tuple[Estimate, ...] = ()

    @property
    def gain(self) -> float:
        """The change oriented so that positive is better."""
        return self.change if self.good == "up" else -self.change

    @property
    def improves(self) -> bool | None:
        lo, hi = self.interval.low, self.interval.high
        if self.good == "down":
            lo, hi = -hi, -lo
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        if lo > 0:
            return True
        if hi < 0:
            return False
        return None


@dataclass(frozen=True)
class Impact:
    """What an action is expected to do to every metric of the workspace, in its scope."""

    scope: tuple[Slice, ...]
    orders_per_day: float  # records per day in the scope (recent window)
    scope_share: float  # the scope's share of all records in the window
    window_start: datetime | None
    window_end: datetime | None
    counterfactual: str  # what was changed, e.g. "batching_threshold set to 2"
    metrics: tuple[MetricImpact, ...]
    notes: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricImpact:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)


@dataclass(frozen=True)
class CostLine:
    """One cost of an action: an efficiency metric that worsens, or a priced unit cost."""

    name: str
    kind: Literal["efficiency", "money"]
    per_order: float  # metric units per order (efficiency) or money per order (money)
    per_day: float  # metric units × orders per day, or money per day
    interval: Interval | None
    unit: str
    money_per_day: float | None = None  # when a unit cost prices it


@dataclass(frozen=True)
class Tradeoff:
    """CX gain against efficiency and money cost, with the exchange rate and a verdict."""

    primary_metric: str
    gain: float  # primary metric change, oriented so positive is better (metric units)
    gain_interval: Interval
    cx_gains: tuple[str, ...]  # cx metrics that improve (interval clear of zero)
    cx_harms: tuple[str, ...]  # cx / guardrail metrics that worsen (interval clear of zero)
    costs: tuple[CostLine, ...]
    money_per_day: float | None
    exchange_rate: str
    verdict: Verdict
    summary: str


@dataclass(frozen=True)
class Action:
    """One catalogue entry (see ``recommendations/actions.yaml``)."""

    id: str
    title: str
    description: str
    hypotheses: tuple[str, ...]
    tags: tuple[str, ...]
    lever: Literal["revert_event", "restore_feature", "set_feature", "scale_feature", "shift_feature", "none"]
    feature: str | None = None
    value: float | str | None = None
    scope: Literal["cause", "localized"] = "cause"
    randomization: Literal["order", "customer", "store", "region", "switchback"] = "order"
    interference: str | None = None
    cost: str | None = None  # a key of the workspace's recommendations.unit_costs (money per affected order)
    effort: Literal["low", "medium", "high"] = "medium"
    generic: bool = False


@dataclass(frozen=True)
class Recommendation:
    """An action instantiated for one cause: what to do, where, what it buys and what it costs."""

    rank: int
    action: Action
    title: str
    cause: str  # the cause's hypothesis id
    change_event: str | None
    feature: str | None
    confidence: float  # the cause's confidence
    scope: tuple[Slice, ...]
    impact: Impact
    tradeoff: Tradeoff

    @property
    def affected_orders_per_day(self) -> float:
        return self.impact.orders_per_day


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse than ``margin`` (metric units, in its bad direction)."""

    metric: str
    baseline: float
    margin: float
    expected: float  # the action's expected change
    reason: str
    type: str = "mean"  # the metric's type and display unit, for formatting
    unit: str = ""


@dataclass(frozen=True)
class RampStep:
    share: float  # share of eligible traffic (or switchback blocks) in treatment
    days: int
    gate: str  # what must hold to go on


@dataclass(frozen=True)
class ExperimentPlan:
    """How to prove the top action works: design, power, duration, ramp and stop rules."""

    incident_id: str
    action_id: str
    title: str
    hypothesis: str
    scope: tuple[Slice, ...]
    primary_metric: str
    metric_type: str
    unit_of_metric: str  # display unit ("pts" for rates)
    baseline: float
    baseline_sd: float  # per-order standard deviation (a rate: sqrt(p(1-p)))
    expected_change: float
    expected_interval: Interval
    mde: float  # minimum detectable effect, metric units, in the good direction
    mde_basis: str
    alpha: float
    power: float
    effect_size: float  # Cohen's h (rates) or d (means)
    n_per_arm_unclustered: int
    unit: str  # order | customer | store | region | switchback
    unit_label: str  # e.g. "region × 1-hour switchback"
    unit_reason: str
    icc: float
    cluster_size: float
    design_effect: float
    n_per_arm: int  # orders per arm needed, after the design effect
    clusters_per_arm: int | None  # units per arm needed (clustered designs)
    planned_orders_per_arm: int  # orders per arm the planned duration collects (after the ramp)
    planned_units_per_arm: int | None
    eligible_orders_per_day: float
    traffic_share: float
    days_needed: int
    planned_days: int
    guardrails: tuple[Guardrail, ...]
    ramp: tuple[RampStep, ...]
    checklist: tuple[str, ...]
    rollout: tuple[str, ...]
    stop_criteria: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return jsonable(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentPlan":
        """Read back the JSON form of `to_dict` (e.g. from ``incidents.json``)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["scope"] = tuple(Slice.parse(s) for s in data.get("scope", ()))
        values["expected_interval"] = _interval(data["expected_interval"])
        values["guardrails"] = tuple(Guardrail(**g) for g in data.get("guardrails", ()))
        values["ramp"] = tuple(RampStep(**r) for r in data.get("ramp", ()))
        for key in ("checklist", "rollout", "stop_criteria", "notes"):
            values[key] = tuple(data.get(key, ()))
        for key in ("baseline", "baseline_sd", "expected_change", "mde", "effect_size", "icc", "cluster_size",
                    "design_effect", "eligible_orders_per_day", "traffic_share", "alpha", "power"):
            values[key] = float("nan") if values.get(key) is None else float(values[key])
        return cls(**values)


def _interval(d: dict | None) -> Interval:
    if not d:
        return Interval(float("nan"), float("nan"))
    low, high = d.get("low"), d.get("high")
    return Interval(float("nan") if low is None else low, float("nan") if high is None else high,
                    d.get("level", 0.95))


@dataclass(frozen=True)
class NextStep:
    """For an inconclusive incident: what to check, and which data would decide it (no numbers estimated)."""

    check: str
    decides: str


@dataclass(frozen=True)
class RecommendationSet:
    """Everything the recommendations stage says about one incident."""

    incident_id: str
    metric: str
    recommendations: tuple[Recommendation, ...]
    experiment_plan: ExperimentPlan | None
    pm_summary: str
    pm_table: tuple[tuple[str, ...], ...]  # header row first
    notes: tuple[str, ...] = ()
    next_steps: tuple[NextStep, ...] = ()  # inconclusive incidents: checks instead of actions
    seconds: float = field(default=0.0, compare=False)

    @property
    def status(self) -> Literal["recommended", "no_action", "inconclusive"]:
        """``inconclusive``: next steps only; ``no_action``: a cause, but no catalogue action fits it."""
        if self.next_steps:
            return "inconclusive"
        return "recommended" if self.recommendations else "no_action"

    @property
    def top(self) -> Recommendation | None:
        return self.recommendations[0] if self.recommendations else None

    def to_dict(self) -> dict:
        out = jsonable(self)
        for rec, item in zip(self.recommendations, out["recommendations"], strict=True):
            item["affected_orders_per_day"] = jsonable(rec.affected_orders_per_day)
        out["status"] = self.status
        return out


@dataclass(frozen=True)
class WhatIfResult:
    """The predicted change of every metric when drivers change in a scope."""

    changes: tuple[str, ...]  # e.g. ("batching_threshold set to 2", "courier_supply_ratio × 1.1")
    impact: Impact
    model: str
    sample: int  # records the outcome model was fitted on
    bootstrap: int

    def to_dict(self) -> dict:
        return jsonable(self)
