"""Small values that leave the RCA stage: evidence and ranked causes."""

from __future__ import annotations

from dataclasses import dataclass, field

from data.slices import Slice
from detection.types import Interval, Regression


@dataclass(frozen=True)
class Evidence:
    """One evidence test's result: an effect with an interval, and a p-value (or posterior)."""

    test: str  # "timing" | "scope" | "did" | "event_study" | "shap" | "placebo_time" | "placebo_scope" | ...
    effect: float
    interval: Interval | None
    p_value: float | None
    supports: bool  # does it support the cause?
    detail: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Cause:
    """A hypothesis instantiated for one regression, with its confidence and evidence."""

    hypothesis: str  # id in the hypothesis library, e.g. "policy_change", "supply", "change_event"
    change_event: str | None  # the change log's `name` when the cause is a change
    feature: str | None  # the workspace feature when the cause is a shifted driver
    scope: tuple[Slice, ...]
    confidence: float  # calibrated probability that this is the cause
    evidence: dict[str, Evidence]
    summary: str  # deterministic one-sentence explanation, grounded in the evidence numbers
    remediation_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Incident:
    """A regression with its ranked causes ("inconclusive" when ``causes`` is empty)."""

    regression: Regression
    causes: tuple[Cause, ...]
    inconclusive: bool = False
