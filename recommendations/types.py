"""Small values that leave the recommendations stage: impacts, tradeoffs, recommendations, plans.

Every number a user sees carries its unit and an interval. These frozen pydantic dataclasses are the wire
contract too: `incidents.json` and the API serialise them as they are (`data.wire`; ``TypeAdapter(X)``
dumps and reads one back), so OpenAPI describes every field.
"""

from __future__ import annotations

import math
from dataclasses import field
from datetime import datetime
from typing import Literal

import pandas as pd
from pydantic.dataclasses import dataclass

from data.wire import WIRE_DATACLASS, Real, Scope
from detection.types import Interval

Verdict = Literal["recommended", "recommended_with_cost", "test_first", "not_recommended", "not_estimated"]


def fmt_value(value: float | str | None) -> str:
    """A driver value as text: whole floats without the point, others to 4 significant digits."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass(frozen=True, config=WIRE_DATACLASS)
class DriverChange:
    """One change to a driver: ``set`` a value, ``scale`` by a factor, ``shift`` by an amount, or
    ``restore`` to its baseline level (resolved by `resolve_restore` into one of the others)."""

    feature: str
    op: Literal["set", "scale", "shift", "restore"]
    value: float | str | None = None

    def number(self) -> float:
        """The value as a number (the factor of a scale, the amount of a shift, a numeric set)."""
        if self.value is None:
            raise ValueError(f"{self.op} {self.feature}: no value")
        return float(self.value)

    def describe(self) -> str:
        if self.op == "set":
            return f"{self.feature} set to {fmt_value(self.value)}"
        if self.op == "scale":
            return f"{self.feature} × {fmt_value(self.value)}"
        if self.op == "shift":
            return f"{self.feature} {self.number():+.4g}"
        return f"{self.feature} restored to its baseline"

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        col = out[self.feature]
        if self.op == "set":
            if pd.api.types.is_numeric_dtype(col) and not isinstance(self.value, str):
                out[self.feature] = self.number()
            else:
                out[self.feature] = str(self.value)
        elif self.op == "scale":
            out[self.feature] = col.astype(float) * self.number()
        elif self.op == "shift":
            out[self.feature] = col.astype(float) + self.number()
        else:
            raise ValueError("resolve 'restore' before applying it")
        return out


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Estimate:
    """One method's estimate of a change, in metric units, with its interval.

    ``method`` is ``evidence`` (the DiD carried in the cause), ``did`` (difference-in-differences on
    daily records), ``model`` (counterfactual on a fitted outcome model) or ``none``.
    """

    method: Literal["evidence", "did", "model", "none"]
    value: Real
    interval: Interval
    n: int = 0  # days (did) or records (model) behind it
    note: str = ""


@dataclass(frozen=True, config=WIRE_DATACLASS)
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
    good: Literal["up", "down"]
    type: str
    unit: str
    baseline: Real
    change: Real
    interval: Interval
    method: Literal["evidence", "did", "model", "none"]
    per_day: Real
    per_day_interval: Interval
    per_day_unit: str
    overall_change: Real
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


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Impact:
    """What an action is expected to do to every metric of the workspace, in its scope: ``counterfactual``
    says in words what was changed; ``changes`` are the driver changes it applied (what a what-if can vary;
    empty when the action switches a change event off)."""

    scope: Scope
    orders_per_day: Real  # records per day in the scope (recent window)
    scope_share: Real  # the scope's share of all records in the window
    window_start: datetime | None
    window_end: datetime | None
    counterfactual: str  # what was changed, e.g. "batching_threshold set to 2"
    metrics: tuple[MetricImpact, ...]
    notes: tuple[str, ...] = ()
    changes: tuple[DriverChange, ...] = ()

    def metric(self, name: str) -> MetricImpact:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)


@dataclass(frozen=True, config=WIRE_DATACLASS)
class CostLine:
    """One cost of an action: an efficiency metric that worsens, or a priced unit cost."""

    name: str
    kind: Literal["efficiency", "money"]
    per_order: Real  # metric units per order (efficiency) or money per order (money)
    per_day: Real  # metric units × orders per day, or money per day
    interval: Interval | None
    unit: str
    money_per_day: Real | None = None  # when a unit cost prices it


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Tradeoff:
    """CX gain against efficiency and money cost, with the exchange rate and a verdict."""

    primary_metric: str
    gain: Real  # primary metric change, oriented so positive is better (metric units)
    gain_interval: Interval
    cx_gains: tuple[str, ...]  # cx metrics that improve (interval clear of zero)
    cx_harms: tuple[str, ...]  # cx / guardrail metrics that worsen (interval clear of zero)
    costs: tuple[CostLine, ...]
    money_per_day: Real | None
    exchange_rate: str
    verdict: Verdict
    summary: str


Lever = Literal["revert_event", "restore_feature", "set_feature", "scale_feature", "shift_feature", "none"]
ActionScope = Literal["cause", "localized"]
Randomization = Literal["order", "customer", "store", "region", "switchback"]
Effort = Literal["low", "medium", "high"]


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Action:
    """One catalogue entry (see ``recommendations/actions.yaml``)."""

    id: str
    title: str
    description: str
    hypotheses: tuple[str, ...]
    tags: tuple[str, ...]
    lever: Lever
    feature: str | None = None
    value: float | str | None = None
    scope: ActionScope = "cause"
    randomization: Randomization = "order"
    interference: str | None = None
    cost: str | None = None  # a key of the workspace's recommendations.unit_costs (money per affected order)
    effort: Effort = "medium"
    generic: bool = False


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Recommendation:
    """An action instantiated for one cause: what to do, where, what it buys and what it costs."""

    rank: int
    action: Action
    title: str
    cause: str  # the cause's hypothesis id
    change_event: str | None
    feature: str | None
    confidence: float  # the cause's confidence
    scope: Scope
    impact: Impact
    tradeoff: Tradeoff

    @property
    def affected_orders_per_day(self) -> float:
        """Records per day in the action's scope (``impact.orders_per_day``)."""
        return self.impact.orders_per_day


@dataclass(frozen=True, config=WIRE_DATACLASS)
class Guardrail:
    """A metric that must not get worse than ``margin`` (metric units, in its bad direction)."""

    metric: str
    baseline: Real
    margin: Real
    expected: Real  # the action's expected change
    reason: str
    type: str = "mean"  # the metric's type and display unit, for formatting
    unit: str = ""


@dataclass(frozen=True, config=WIRE_DATACLASS)
class RampStep:
    share: float  # share of eligible traffic (or switchback blocks) in treatment
    days: int
    gate: str  # what must hold to go on


@dataclass(frozen=True, config=WIRE_DATACLASS)
class ExperimentPlan:
    """How to prove the top action works: design, power, duration, ramp and stop rules."""

    incident_id: str
    action_id: str
    title: str
    hypothesis: str
    scope: Scope
    primary_metric: str
    metric_type: str
    unit_of_metric: str  # display unit ("pts" for rates)
    baseline: Real
    baseline_sd: Real  # per-order standard deviation (a rate: sqrt(p(1-p)))
    expected_change: Real
    expected_interval: Interval
    mde: Real  # minimum detectable effect, metric units, in the good direction
    mde_basis: str
    alpha: Real
    power: Real
    effect_size: Real  # Cohen's h (rates) or d (means)
    n_per_arm_unclustered: int
    unit: str  # order | customer | store | region | switchback
    unit_label: str  # e.g. "region × 1-hour switchback"
    unit_reason: str
    icc: Real
    cluster_size: Real
    design_effect: Real
    n_per_arm: int  # orders per arm needed, after the design effect
    clusters_per_arm: int | None  # units per arm needed (clustered designs)
    planned_orders_per_arm: int  # orders per arm the planned duration collects (after the ramp)
    planned_units_per_arm: int | None
    eligible_orders_per_day: Real
    traffic_share: Real
    days_needed: int
    planned_days: int
    guardrails: tuple[Guardrail, ...]
    ramp: tuple[RampStep, ...]
    checklist: tuple[str, ...]
    rollout: tuple[str, ...]
    stop_criteria: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, config=WIRE_DATACLASS)
class NextStep:
    """For an inconclusive incident: what to check, and which data would decide it (no numbers estimated)."""

    check: str
    decides: str


@dataclass(frozen=True, config=WIRE_DATACLASS)
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


@dataclass(frozen=True, config=WIRE_DATACLASS)
class WhatIfResult:
    """The predicted change of every metric when drivers change in a scope."""

    changes: tuple[str, ...]  # e.g. ("batching_threshold set to 2", "courier_supply_ratio × 1.1")
    impact: Impact
    model: str
    sample: int  # records the outcome model was fitted on
    bootstrap: int
