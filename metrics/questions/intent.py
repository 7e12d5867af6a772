"""The typed intent a question maps to, and the typed answer it gets.

An `Intent` is what a semantic layer lets a question choose (MetricFlow, Cube): a measure (a metric of the
workspace, a count of records, or a reconciliation finding), filters on declared dimensions, a time range,
a comparison period, a grouping and a ranking. It never holds SQL: `metrics.questions.compiler` turns it
into a query through the workspace's own metric definitions, with every value a bound parameter. The same
schema is what a follow-up question sends back as its context and what an optional language model may
fill in (`backend.ask`), so everything in it is checked again against the workspace before it is used.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_FILTER_VALUES = 20
MAX_TOP = 100


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Frozen):
    """Records with ``start <= timestamp < end`` (naive UTC), and how the question named the range."""

    start: datetime
    end: datetime
    label: str = Field(max_length=200)

    @field_validator("start", "end")
    @classmethod
    def _naive_utc(cls, t: datetime) -> datetime:
        """Records' timestamps are naive UTC: a time with a zone is converted to it."""
        return t if t.tzinfo is None else t.astimezone(timezone.utc).replace(tzinfo=None)


class Filter(_Frozen):
    """Records whose ``dimension`` (as text) is one of ``values``."""

    dimension: str = Field(max_length=200)
    values: tuple[str, ...] = Field(min_length=1, max_length=MAX_FILTER_VALUES)


ReconFinding = Literal["lost", "unexpected", "with_differences", "matched", "identical", "impacted_customers",
                       "duplicate_keys", "legacy_rows", "migrated_rows", "patterns", "column_differences"]


class Measure(_Frozen):
    """What is measured.

    - ``metric``: the value of workspace metric ``metric`` (``negated`` turns a rate into its complement:
      "late" is the share of records *not* on time);
    - ``count``: the number of records; with ``metric`` (a rate), only those whose expression is true
      (false when ``negated``): "how many orders were late";
    - ``reconciliation``: a finding of a `cxw reconcile` output (``finding``, ``column``, ``amount``,
      ``classification`` for patterns).
    """

    kind: Literal["metric", "count", "reconciliation"]
    metric: str | None = Field(default=None, max_length=200)
    negated: bool = False
    finding: ReconFinding | None = None
    column: str | None = Field(default=None, max_length=200)
    amount: bool = False
    classification: Literal["systematic", "isolated"] | None = None


class Ranking(_Frozen):
    """Order groups by their value (or by its change against the comparison period) and keep ``top``."""

    by: Literal["value", "change"] = "value"
    descending: bool = True
    top: int = Field(default=1, ge=1, le=MAX_TOP)


class Intent(_Frozen):
    """One question, interpreted. ``time`` None means every record; ``compare`` is the period the
    question compares with; ``group_by`` a dimension; ``ranking`` only with ``group_by``."""

    measure: Measure
    filters: tuple[Filter, ...] = Field(default=(), max_length=10)
    time: TimeRange | None = None
    compare: TimeRange | None = None
    group_by: str | None = Field(default=None, max_length=200)
    ranking: Ranking | None = None
    min_records: int = Field(default=30, ge=1, le=1_000_000)


class AnswerRow(_Frozen):
    """One number of an answer: a group (``label`` None for the total) in the asked period, and in the
    comparison period when there is one."""

    label: str | None
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    records: int | None = None
    previous_value: float | None = None
    previous_records: int | None = None
    change: float | None = None


class Answer(_Frozen):
    """What `cxw ask` prints and ``POST /api/ask`` returns. A refusal (``answered`` false) carries the
    reason and the closest supported questions, and no number."""

    question: str
    answered: bool
    text: str
    interpretation: str | None = None
    intent: Intent | None = None
    rows: tuple[AnswerRow, ...] = ()
    unit: str | None = None
    query: str | None = None
    parameters: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    interpreted_by: Literal["parser", "model"] = "parser"
    text_by: Literal["template", "model"] = "template"
