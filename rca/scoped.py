"""An incident's metric before and after its onset, measured in the incident's own scope.

The detector reports a regression in the slice where it first saw it; a person reads the incident in
the scope its cause explains (`Incident.slices`). `measure_in_scope` computes, for each incident, the
metric over its scope in the baseline window ``[baseline_start, onset)`` and after the onset
``[onset, end)`` from the records (one DuckDB scan per incident, summed per time bucket), with:

- the change and its 95% interval, with the time buckets as clusters (the ratio estimator's
  linearized variance, Cochran 1977, *Sampling Techniques*, §6.3): Σ w_b² (v_b − V)² / (Σ w_b)² ·
  B/(B − 1) per window, so hour-to-hour swings widen it rather than the record count narrowing it;
- the change in standard errors (the incident's severity: absolute impact, not relative change);
- the affected volume (records in scope after the onset, and per day) and the change times the records
  the metric counts (for a rate, the records whose outcome flipped, e.g. late orders; for a mean, the
  total in its unit; for a ratio, the numerator's total, e.g. money).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from data.slices import Slice
from data.sources import OpenWorkspace, quote, sql_literal
from detection.types import Interval
from metrics.definitions import scope_predicate
from rca.measures import Measures
from rca.types import Incident, ScopeChange

Z95 = 1.959963984540054


def _window(incident: Incident) -> tuple[datetime, datetime, datetime]:
    """(baseline start, onset, end): the onset is the change point inside the scope when it lies in the
    regression's window, else the detector's start; the baseline is the detector's (else as long as the window)."""
    r = incident.regression
    split = incident.onset if incident.onset is not None and r.baseline_start is not None and \
        r.baseline_start < incident.onset < r.end else r.start
    before = r.baseline_start if r.baseline_start is not None and r.baseline_start < split else split - (r.end - split)
    return before, split, r.end


def _pooled(frame: pd.DataFrame, measures: Measures, metric: str) -> tuple[float, float, float]:
    """(value, standard error, weight) of the buckets in ``frame`` pooled, buckets as clusters."""
    if frame.empty:
        return float("nan"), float("nan"), 0.0
    totals = frame.sum(numeric_only=True).to_frame().T
    value = float(measures.value(totals, metric)[0])
    v = measures.value(frame, metric)
    w = measures.weight(frame, metric)
    ok = np.isfinite(v) & (w > 0)
    b = int(ok.sum())
    if b < 2 or not math.isfinite(value):
        return value, float("nan"), float(w[ok].sum())
    var = float(np.sum(w[ok] ** 2 * (v[ok] - value) ** 2) / w[ok].sum() ** 2) * b / (b - 1)
    return value, math.sqrt(var), float(w[ok].sum())


def scope_change(ow: OpenWorkspace, incident: Incident, measures: Measures | None = None,
                 scope: tuple[Slice, ...] | None = None) -> ScopeChange:
    """The incident's metric before and after its onset in ``scope`` (default: its own; see the module
    docstring)."""
    ws = ow.workspace
    measures = measures or Measures.of(ws)
    metric = incident.regression.metric
    scope = tuple(s for s in (incident.slices if scope is None else scope) if s.filters)
    before_start, split, end = _window(incident)
    ts = quote(ws.records.timestamp)
    grain = ws.records.grain
    sums = ", ".join(measures.sum_columns())
    sql = (f"SELECT date_trunc('{grain}', {ts}) AS bucket, {ts} >= {_literal(split)} AS after, "
           f"count(*) AS records, {sums} "
           f"FROM (SELECT {ts}, {', '.join(measures.record_columns())} FROM records "
           f"WHERE {scope_predicate(scope)} AND {ts} >= {_literal(before_start)} AND {ts} < {_literal(end)}) "
           "GROUP BY 1, 2")
    frame = ow.con.execute(sql).fetchdf()
    later = frame["after"].astype(bool)
    before, se_before, _ = _pooled(frame[~later], measures, metric)
    after, se_after, counted = _pooled(frame[later], measures, metric)
    volume = float(frame.loc[later, "records"].sum())
    change = after - before
    se = math.hypot(se_before, se_after)
    days = max((end - split) / timedelta(days=1), 1e-9)
    z = abs(change) / se if math.isfinite(se) and se > 0 and math.isfinite(change) else float("nan")
    return ScopeChange(scope=scope or (Slice(()),), baseline_start=before_start, onset=split, end=end,
                       before=before, after=after, change=change,
                       interval=Interval(change - Z95 * se, change + Z95 * se), standard_errors=z,
                       volume=volume, per_day=volume / days,
                       impact_per_day=None if measures.spec(metric).type == "composite" else change * counted / days)


def _literal(ts: datetime) -> str:
    return f"CAST({sql_literal(ts.isoformat(sep=' '))} AS TIMESTAMP)"
