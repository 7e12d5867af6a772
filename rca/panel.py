"""Panels: the records summed per (unit, scope dimensions, time bucket) in one DuckDB scan.

Every causal test of the RCA stage (difference-in-differences, event studies, placebo times and placebo
scopes) runs on such a panel in numpy, so the records are scanned once per set of scope dimensions, not
once per test. The *unit* is a combination of the workspace's most granular dimensions (for example a
shop) with at most ``max_units`` values: it is both the fixed effect and the cluster of the
cluster-robust standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from data.slices import Slice
from data.sources import OpenWorkspace, quote
from metrics.definitions import label_sql, scope_mask
from rca.measures import Measures


@dataclass(frozen=True, eq=False)
class Panel:
    """Sums of every base metric per (unit, scope-dimension values, bucket start)."""

    frame: pd.DataFrame  # columns: _unit (int code), <dims...>, _t (int64 hours since epoch), sx_i, sy_i, _n
    unit_dims: tuple[str, ...]
    dims: tuple[str, ...]
    start: datetime
    end: datetime
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def hours(self) -> np.ndarray:
        return self.frame["_t"].to_numpy()

    def columns(self, names: list[str]) -> dict[str, np.ndarray]:
        """Float arrays of the named sum columns (cached)."""
        out = {}
        for name in names:
            key = ("col", name)
            if key not in self._cache:
                self._cache[key] = self.frame[name].to_numpy(float)
            out[name] = self._cache[key]
        return out

    def members(self, scope: tuple[Slice, ...]) -> np.ndarray:
        """Boolean mask of rows inside ``scope`` (the empty scope is everything)."""
        key = tuple(s.key for s in scope)
        if key not in self._cache:
            self._cache[key] = scope_mask(self.frame, scope)
        return self._cache[key]


_EPOCH = datetime(1970, 1, 1)


def hours_since_epoch(ts: datetime) -> int:
    """Whole hours from 1970-01-01 to ``ts`` (naive UTC), rounded down."""
    if getattr(ts, "tzinfo", None) is not None:
        ts = pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).to_pydatetime()
    return int((ts - _EPOCH) // timedelta(hours=1))


def from_hours(h: int | float) -> datetime:
    return (pd.Timestamp("1970-01-01") + pd.Timedelta(hours=float(h))).to_pydatetime()


def load_panel(ow: OpenWorkspace, measures: Measures, unit_dims: tuple[str, ...], scope_dims: tuple[str, ...],
               start: datetime, end: datetime) -> Panel:
    """One scan: sums per (unit dims, scope dims, hour) in ``[start, end)``; the unit becomes an int code."""
    ts = quote(ow.workspace.records.timestamp)
    dims = tuple(dict.fromkeys(unit_dims + scope_dims))
    dim_cols = [f"{label_sql(quote(d))} AS {quote(d)}" for d in dims]
    inner = ", ".join(dim_cols + [f"{ts} AS _ts"] + measures.record_columns())
    keys = ", ".join(quote(d) for d in dims)
    sql = (f"SELECT {keys + ', ' if keys else ''}CAST(epoch(date_trunc('hour', _ts)) // 3600 AS BIGINT) AS _t, "
           f"count(*) AS _n, {', '.join(measures.sum_columns())} "
           f"FROM (SELECT {inner} FROM records WHERE {ts} >= ? AND {ts} < ?) GROUP BY ALL")
    frame = ow.engine.frame(sql, [start, end])
    if unit_dims:
        codes = frame.groupby(list(unit_dims), sort=True, observed=True).ngroup().to_numpy()
    else:
        codes = np.zeros(len(frame), np.int64)
    frame["_unit"] = codes.astype(np.int64)
    frame["_t"] = frame["_t"].astype(np.int64)
    return Panel(frame, tuple(unit_dims), dims, start, end)


def choose_unit_dims(cardinality: dict[str, int], max_units: int = 2000, min_units: int = 30) -> tuple[str, ...]:
    """The panel unit: the most granular dimension with at most ``max_units`` values, combined with the next
    ones while it has fewer than ``min_units`` values and the product stays within ``max_units``."""
    ranked = sorted(cardinality.items(), key=lambda kv: (-kv[1], kv[0]))
    usable = [(d, c) for d, c in ranked if c <= max_units]
    if not usable:  # every dimension is finer than max_units: the coarsest one still makes clusters
        return (ranked[-1][0],) if ranked else ()
    chosen, product = [usable[0][0]], usable[0][1]
    for d, c in usable[1:]:
        if product >= min_units:
            break
        if product * c <= max_units:
            chosen.append(d)
            product *= c
    return tuple(chosen)


def dimension_cardinality(ow: OpenWorkspace, start: datetime, end: datetime) -> dict[str, int]:
    dims = ow.workspace.records.dimensions
    ts = quote(ow.workspace.records.timestamp)
    # exact, not approx_count_distinct: the engines' HyperLogLog sketches give different estimates
    cols = ", ".join(f"count(DISTINCT {quote(d)})" for d in dims)
    row = ow.engine.row(f"SELECT {cols} FROM records WHERE {ts} >= ? AND {ts} < ?", [start, end])
    return {d: int(c or 0) for d, c in zip(dims, row, strict=True)}


def hour_bucket(grain: str) -> timedelta:
    return timedelta(days=1) if grain == "day" else timedelta(hours=1)
