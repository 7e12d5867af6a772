"""Small values that leave the RCA stage: evidence and ranked causes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
    rule: str = field(default="", compare=False)  # the decision rule with the numbers it decided on, and the verdict


def verdict(question: str, answer: bool, yes: str, no: str) -> str:
    """A decision rule written out: ``"<question>? yes → <yes>"`` (or ``no → <no>``)."""
    return f"{question}? {'yes' if answer else 'no'} → {yes if answer else no}"


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
    events: tuple[str, ...] = ()  # every change-log event of the cause (the waves of a staggered roll-out)
    onset: datetime | None = None  # when the cause started (the change's time, or the driver's shift)
    score_inputs: dict[str, float] = field(default_factory=dict, compare=False, hash=False)  # what the ranking read


@dataclass(frozen=True)
class Rejected:
    """A candidate cause that was tested and not kept, with the test that ruled it out."""

    candidate: str  # the change-log event's name or the driver feature
    kind: str  # "change" | "driver"
    confidence: float
    ruled_out_by: str  # the first test it failed (timing, scope, did, ...), or "confidence"
    reason: str  # that test's decision rule with its numbers, or why the confidence was too low


@dataclass(frozen=True)
class ScopeChange:
    """A metric before and after the onset in the incident's own scope (`rca.scoped`): the numbers a person
    reads, with the change in standard errors (its severity) and the volume it touched."""

    scope: tuple[Slice, ...]
    baseline_start: datetime
    onset: datetime
    end: datetime
    before: float
    after: float
    change: float
    interval: Interval  # 95%, the time buckets as clusters
    standard_errors: float  # |change| / its standard error
    volume: float  # records in scope after the onset
    per_day: float  # of them, per day
    impact_per_day: float | None  # change × the metric's denominator per day (None for a composite: no unit)


@dataclass(frozen=True)
class Incident:
    """A regression with its ranked causes ("inconclusive" when ``causes`` is empty)."""

    regression: Regression
    causes: tuple[Cause, ...]
    inconclusive: bool = False
    onset: datetime | None = None  # the change point of the metric inside the localized scope
    candidates: int = 0  # candidate causes tested
    notes: tuple[str, ...] = ()
    scope: tuple[Slice, ...] | None = None  # where RCA looked: the meaningful localized slices, () = everything
    confirmation: Evidence | None = None  # does the regression's own change stand out from its series?
    dismissed: bool = False  # not confirmed and no cause: most likely a false alarm of the detector
    symptoms: tuple["Incident", ...] = ()  # the other regressions its cause explains (`rca.grouping`)
    rejected: tuple[Rejected, ...] = ()  # the candidates tested and not kept, each with what ruled it out
    measured: ScopeChange | None = None  # before → after in its own scope (`rca.scoped`)
    cause_key: str | None = None  # what groups it: ``change:<event>`` or ``driver:<feature>`` (None: no confirmed cause)

    @property
    def slices(self) -> tuple[Slice, ...]:
        """The incident's localized slices: RCA's scope (``*`` when global), else the regression's own."""
        if self.scope is None:
            return tuple(self.regression.slices) or (self.regression.slice,)
        return self.scope or (Slice((), share=1.0),)

    @property
    def id(self) -> str:
        return self.regression.id

    @property
    def all_symptoms(self) -> tuple["Incident", ...]:
        """Every regression of the incident, the most affected (its own) first."""
        return (self, *self.symptoms)
