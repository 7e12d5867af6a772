"""Small values that leave the RCA stage: evidence (one type per test), ranked causes, incidents.

Evidence and causes are the wire contract too: `incidents.json` and the API serialise them as they are
(pydantic, `data.wire`), so every test's numbers have a declared type and name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field
from pydantic.dataclasses import dataclass as wire_dataclass

from data.slices import Slice
from data.wire import WIRE, WIRE_DATACLASS, Real, Scope
from detection.types import Interval, Regression


class _Wire(BaseModel):
    model_config = WIRE


class TimeSpan(_Wire):
    """An interval of times (the change point's), in the one interval shape: ``{low, high}``."""

    low: datetime
    high: datetime


class Detail(_Wire):
    """What every test's detail says: could it be run, and if not, why not."""

    testable: bool = True
    reason: str | None = None


class TimingDetail(Detail):
    change_point: datetime | None = None
    change_point_interval: TimeSpan | None = None
    candidate_time: datetime | None = None
    hours_from_change_point: float | None = None
    before: Real | None = None
    after: Real | None = None
    shift_statistic: float | None = None
    window_hours: float | None = None
    misfit_statistic: float | None = None
    misfit_p: float | None = None
    share_of_shift_lost: float | None = None
    half_widths_outside_interval: float | None = None
    onset_statement: str | None = None
    waves: int | None = Field(default=None, description="A roll-out in waves: timed by its first wave")
    timed_by: str | None = None
    onset_scope: str | None = None
    onset_control: str | None = None


class ScopeRecords(_Wire):
    candidate: int
    localized: int
    both: int


class ScopeDetail(Detail):
    jaccard: float
    weighted_jaccard: float
    covers_regression: float
    covers_change: float
    regressed_share_of_scope: float
    candidate_scope: str
    localized: str
    records: ScopeRecords


class DidCohort(_Wire):
    """One cohort of a (stacked) DiD: a wave of the change, when and where it went live."""

    name: str
    start: datetime
    scope: str


class DidDetail(Detail):
    design: str
    cohorts: tuple[DidCohort, ...] = ()
    controls: str | None = None
    unit: tuple[str, ...] = ()
    periods_before: int | None = None
    periods_after: int | None = None
    period_hours: int | None = None
    z: float | None = None
    z_in_direction: float | None = None
    relative_effect: Real | None = None
    treated_pre_mean: Real | None = None
    treated_units: int | None = None
    control_units: int | None = None
    clusters: int | None = None
    treated_clusters: int | None = None
    cells: int | None = None
    standard_errors: str | None = None
    q_value: float | None = Field(default=None, description="Benjamini-Hochberg over the candidates' DiDs")
    fdr: str | None = None


class EventPeriod(_Wire):
    k: int = Field(description="Periods since the change (-1 is the reference)")
    effect: Real
    interval: Interval


class EventStudyDetail(Detail):
    periods: tuple[EventPeriod, ...] = ()
    pretrend_p: float | None = None
    largest_lead_to_effect: float | None = None
    pretrend_violated: bool | None = None
    treated_clusters: int | None = None
    note: str | None = None


class PlaceboTimeDetail(Detail):
    placebo_periods_back: tuple[int, ...] = ()
    placebo_z: tuple[float, ...] = ()
    placebo_effects: tuple[Real, ...] = ()
    real_z: float | None = None
    largest_placebo_z: float | None = None
    significant_placebos: int | None = None
    effect_is: str | None = None
    interval_is: str | None = None


class PlaceboScopeDetail(Detail):
    placebos: int | None = None
    placebo_z: tuple[float, ...] = ()
    placebo_effects: tuple[Real, ...] = ()
    real_z: float | None = None
    largest_placebo_z: float | None = None
    placebos_as_large: int | None = None
    effect_is: str | None = None
    interval_is: str | None = None


class PlaceboItsDetail(Detail):
    jump: Real | None = None
    placebo_jumps: tuple[Real, ...] = ()
    window_hours: int | None = None
    interval_is: str | None = None


class ConfirmationDetail(Detail):
    jump: Real | None = None
    placebo_splits: int | None = None
    as_large: int | None = None
    window_hours: int | None = None
    interval_is: str | None = None
    note: str | None = None


class ShapInput(_Wire):
    input: str
    delta_shap: Real


class SampleSizing(_Wire):
    pilot_rows: int
    target_half_width: float
    reached_half_width: float | None
    max_rows: int
    rule: str


class FeatureShift(_Wire):
    """How the driver's own distribution moved: a KS test (numeric) or χ² (categorical), with the PSI."""

    test: Literal["ks", "chi2"]
    p_value: Real
    psi: Real
    before: float | str
    after: float | str
    level: str | None = None
    share_before: float | None = None
    share_after: float | None = None


class Mediation(_Wire):
    """The change event whose footprint this driver's shift matches (the driver carries the change)."""

    feature: str
    footprint_jaccard: float
    feature_onset: datetime
    footprint: str


class ShapDetail(Detail):
    feature: str | None = None
    scope: str | None = None
    share_of_change: float | None = None
    delta_mean_shap: Real | None = None
    delta_mean_abs_shap: Real | None = None
    observed_change: Real | None = None
    model_change: Real | None = None
    rows_before: int | None = None
    rows_after: int | None = None
    sample_sizing: SampleSizing | None = None
    model_r2: float | None = None
    top_inputs: tuple[ShapInput, ...] = ()
    interval_is: str | None = None
    distribution: FeatureShift | None = None
    mediates_change: Mediation | None = None


class _Evidence(_Wire):
    """One evidence test's result: an effect with an interval, a p-value, whether it supports the cause, the
    decision rule with the numbers it decided on (and its verdict), and the test's own numbers."""

    effect: Real
    interval: Interval | None = None
    p_value: Real | None = None
    supports: bool
    rule: str = ""


class TimingEvidence(_Evidence):
    """Hours between the candidate's time and the metric's change point (`rca.evidence.timing`)."""

    test: Literal["timing"] = "timing"
    detail: TimingDetail


class ScopeEvidence(_Evidence):
    """Weighted Jaccard of the candidate's scope and the regressing traffic (`rca.evidence.scope`)."""

    test: Literal["scope"] = "scope"
    detail: ScopeDetail


class DidEvidence(_Evidence):
    """Difference-in-differences of the change against untouched units (`rca.evidence.did`)."""

    test: Literal["did"] = "did"
    detail: DidDetail


class EventStudyEvidence(_Evidence):
    """Leads and lags around the change; parallel pre-trends (`rca.evidence.did`)."""

    test: Literal["event_study"] = "event_study"
    detail: EventStudyDetail


class PlaceboTimeEvidence(_Evidence):
    """The DiD at dates with no change (`rca.evidence.refute`)."""

    test: Literal["placebo_time"] = "placebo_time"
    detail: PlaceboTimeDetail


class PlaceboScopeEvidence(_Evidence):
    """The DiD on untouched slices of the same shape (`rca.evidence.refute`)."""

    test: Literal["placebo_scope"] = "placebo_scope"
    detail: PlaceboScopeDetail


class PlaceboItsEvidence(_Evidence):
    """A global change's jump against placebo-day jumps (`rca.evidence.refute`)."""

    test: Literal["placebo_its"] = "placebo_its"
    detail: PlaceboItsDetail


class ConfirmationEvidence(_Evidence):
    """Does the regression's own change stand out from its series (`rca.evidence.refute`)."""

    test: Literal["confirmation"] = "confirmation"
    detail: ConfirmationDetail


class ShapEvidence(_Evidence):
    """The driver's share of the change by SHAP attribution shift (`rca.evidence.shap_shift`)."""

    test: Literal["shap"] = "shap"
    detail: ShapDetail


Evidence = Annotated[TimingEvidence | ScopeEvidence | DidEvidence | EventStudyEvidence | PlaceboTimeEvidence
                     | PlaceboScopeEvidence | PlaceboItsEvidence | ConfirmationEvidence | ShapEvidence,
                     Field(discriminator="test")]

E = TypeVar("E", bound=_Evidence)


def test_of(evidence: Mapping[str, Evidence], kind: type[E]) -> E | None:
    """The evidence of one test (given by its type) among a cause's, or None when that test was not run."""
    found = evidence.get(kind.model_fields["test"].default)
    return found if isinstance(found, kind) else None


def verdict(question: str, answer: bool, yes: str, no: str) -> str:
    """A decision rule written out: ``"<question>? yes → <yes>"`` (or ``no → <no>``)."""
    return f"{question}? {'yes' if answer else 'no'} → {yes if answer else no}"


@wire_dataclass(frozen=True, config=WIRE_DATACLASS)
class Cause:
    """A hypothesis instantiated for one regression, with its confidence and evidence (by test name)."""

    hypothesis: str  # id in the hypothesis library, e.g. "policy_change", "supply", "change_event"
    change_event: str | None  # the change log's `name` when the cause is a change
    feature: str | None  # the workspace feature when the cause is a shifted driver
    scope: Scope
    confidence: float  # calibrated probability that this is the cause
    evidence: dict[str, Evidence]
    summary: str  # deterministic one-sentence explanation, grounded in the evidence numbers
    remediation_tags: tuple[str, ...] = ()
    events: tuple[str, ...] = ()  # every change-log event of the cause (the waves of a staggered roll-out)
    onset: datetime | None = None  # when the cause started (the change's time, or the driver's shift)
    score_inputs: dict[str, float] = field(default_factory=dict, compare=False, hash=False)  # what the ranking read


@wire_dataclass(frozen=True, config=WIRE_DATACLASS)
class Rejected:
    """A candidate cause that was tested and not kept, with the test that ruled it out."""

    candidate: str  # the change-log event's name or the driver feature
    kind: Literal["change", "driver"]
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
    confirmation: ConfirmationEvidence | None = None  # does the regression's own change stand out from its series?
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
