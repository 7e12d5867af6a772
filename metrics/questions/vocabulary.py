"""What a question may name: the workspace's metrics, its declared dimensions with their real values, and
the span of its timestamps (relative times are read against the last one); or the findings of a
reconciliation output. Read once from the data with parameter-free queries over declared columns, on the
workspace's engine (`data.engines`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from data.sources import OpenWorkspace, quote
from data.workspace import MetricSpec

MAX_VALUES_PER_DIMENSION = 10_000


@dataclass(frozen=True)
class Vocabulary:
    """The names a question about one workspace may use."""

    metrics: tuple[MetricSpec, ...]
    dimensions: dict[str, tuple[str, ...]]  # dimension -> its distinct values as text (nulls left out)
    first: datetime
    last: datetime
    records_noun: str = "records"

    def metric(self, name: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True)
class ReconVocabulary:
    """The names a question about one reconciliation output may use."""

    compared_columns: tuple[str, ...]
    amount_column: str | None
    pattern_labels: tuple[str, ...]


def workspace_vocabulary(ow: OpenWorkspace) -> Vocabulary:
    """Distinct values of every declared dimension (at most `MAX_VALUES_PER_DIMENSION` each) and the first
    and last timestamps of the records."""
    ws = ow.workspace
    values: dict[str, tuple[str, ...]] = {}
    for dim in ws.records.dimensions:
        rows = ow.engine.rows(f"SELECT DISTINCT CAST({quote(dim)} AS VARCHAR) AS v FROM records "
                              f"WHERE {quote(dim)} IS NOT NULL ORDER BY v LIMIT {MAX_VALUES_PER_DIMENSION}")
        values[dim] = tuple(r[0] for r in rows)
    ts = quote(ws.records.timestamp)
    first, last = ow.engine.row(f"SELECT min({ts}), max({ts}) FROM records")
    return Vocabulary(metrics=tuple(ws.metrics), dimensions=values, first=first, last=last)
