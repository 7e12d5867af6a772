"""An incident's metric before and after its onset, measured in the incident's own scope.

The detector reports a regression in the slice where it first saw it; a person reads the incident in
the scope its cause explains (`Incident.slices`). `measure_in_scope` computes, for each incident, the
metric over its scope in the baseline window ``[baseline_start, onset)`` and after the onset
``[onset, end)`` from the records (summed per time bucket; the incidents measured in one scope, a cause's
group, share one DuckDB scan: `scope_changes`), with:

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
from collections.abc import Sequence
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
MASK_INCIDENTS = 31  # two bits each in a BIGINT mask


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


def scope_changes(ow: OpenWorkspace, incidents: Sequence[Incident], scope: tuple[Slice, ...],
                  measures: Measures | None = None) -> list[ScopeChange]:
    """Each incident's metric before and after its onset in ``scope`` (see the module docstring), from one
    scan of the records for up to `MASK_INCIDENTS` incidents.

    Each record gets a bit mask: bit 2k when it lies in incident k's window ``[baseline start, end)``, bit
    2k+1 when it is at or after k's onset; the scan sums per (bucket, mask), and incident k adds up the
    masks holding its window bit, split by its onset bit: the same per-bucket sums one scan per incident
    gives (sums are additive), for the cost of one scan.
    """
    ws = ow.workspace
    measures = measures or Measures.of(ws)
    if len(incidents) > MASK_INCIDENTS:
        return [change for at in range(0, len(incidents), MASK_INCIDENTS)
                for change in scope_changes(ow, incidents[at:at + MASK_INCIDENTS], scope, measures)]
    scope = tuple(s for s in scope if s.filters)
    windows = [_window(i) for i in incidents]
    if not windows:
        return []
    ts = quote(ws.records.timestamp)
    bits = []
    for k, (before_start, split, end) in enumerate(windows):
        bits += [f"(CASE WHEN {ts} >= {_literal(before_start)} AND {ts} < {_literal(end)} THEN {1 << 2 * k} ELSE 0 END)",
                 f"(CASE WHEN {ts} >= {_literal(split)} THEN {1 << (2 * k + 1)} ELSE 0 END)"]
    lo, hi = min(w[0] for w in windows), max(w[2] for w in windows)
    sums = ", ".join(measures.sum_columns())
    sql = (f"SELECT date_trunc('{ws.records.grain}', {ts}) AS bucket, CAST({' + '.join(bits)} AS BIGINT) AS _mask_, "
           f"count(*) AS records, {sums} "
           f"FROM (SELECT {ts}, {', '.join(measures.record_columns())} FROM records "
           f"WHERE {scope_predicate(scope)} AND {ts} >= {_literal(lo)} AND {ts} < {_literal(hi)}) "
           "GROUP BY 1, 2")
    frame = ow.engine.frame(sql)
    masks = frame.pop("_mask_").to_numpy(dtype=np.int64)
    out = []
    for k, (incident, window) in enumerate(zip(incidents, windows, strict=True)):
        in_window = (masks >> (2 * k)) & 1 == 1
        part = frame[in_window].assign(after=(masks[in_window] >> (2 * k + 1)) & 1 == 1)
        out.append(_measured(part.groupby(["bucket", "after"], as_index=False).sum(), incident, scope, window,
                             measures))
    return out


def _measured(frame: pd.DataFrame, incident: Incident, scope: tuple[Slice, ...],
              window: tuple[datetime, datetime, datetime], measures: Measures) -> ScopeChange:
    """The `ScopeChange` from one incident's per-(bucket, after onset) sums."""
    metric = incident.regression.metric
    before_start, split, end = window
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
