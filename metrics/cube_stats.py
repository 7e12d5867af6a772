"""Statistics read from a built metric cube (Parquet, through DuckDB): a slice's series with 95% intervals,
and a slice's children with their change and contribution to it (drill-down).

The cube holds each slice's sums (`metrics.cube`), so both are small reads of it, never a scan of the
records. The service calls these and serves their values as they are (pydantic dataclasses, `data.wire`);
it computes no statistics of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import duckdb
from pydantic import Field
from pydantic.dataclasses import dataclass

from data.errors import UserError
from data.wire import WIRE_DATACLASS
from data.workspace import BUCKET
from metrics.definitions import slice_label, split_label

Z95 = 1.959963984540054


@dataclass(frozen=True, config=WIRE_DATACLASS)
class SeriesPoint:
    """One bucket of a slice's series: the value with its 95% interval (None where undefined) and sums."""

    ts: datetime
    value: float | None
    low: Annotated[float | None, Field(description="95% interval, normal approximation (null for composites)")]
    high: float | None
    numerator: float
    denominator: float
    n: int


@dataclass(frozen=True, config=WIRE_DATACLASS)
class SliceChange:
    """A child slice's baseline and current value, and its part of the parent's change."""

    slice: str
    baseline: float | None
    current: float | None
    change: float | None
    baseline_n: int
    current_n: int
    contribution: Annotated[float | None,
                            Field(description="This slice's part of the parent's change, in metric units")]
    share: Annotated[float | None, Field(description="contribution / parent change")]


@dataclass(frozen=True, config=WIRE_DATACLASS)
class DrillDown:
    """A parent slice's baseline and current value and its children, largest contribution first."""

    parent: str
    parent_baseline: float | None
    parent_current: float | None
    data: tuple[SliceChange, ...]


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    return con


def _check(cube_file: Path) -> None:
    if not cube_file.is_file():
        raise UserError(f"cube {cube_file}: file not found (build it with `cxw metrics`)")


def standard_error_sql(metric_type: str) -> str:
    """SQL for the standard error of one cube row's value (delta method; rates reduce to binomial p(1-p)/n);
    NULL for a composite, whose rows keep no moments."""
    if metric_type == "rate":
        return "sqrt(greatest(value * (1 - value), 0) / nullif(denominator, 0))"
    if metric_type == "mean":
        return "sqrt(greatest(num_sq / nullif(denominator, 0) - value * value, 0) / nullif(denominator, 0))"
    if metric_type == "ratio":
        return ("sqrt(greatest(num_sq - 2 * value * num_den + value * value * den_sq, 0)) "
                "/ nullif(denominator, 0)")
    return "NULL::DOUBLE"


def series(cube_file: Path, metric: str, metric_type: str, label: str) -> list[SeriesPoint]:
    """Every bucket of ``metric`` in the slice ``label`` (a cube label), oldest first, with a 95% interval."""
    _check(cube_file)
    con = _connect()
    try:
        rows = con.execute(
            f"SELECT ts, value, {standard_error_sql(metric_type)} AS se, numerator, denominator, n "
            "FROM read_parquet(?) WHERE metric = ? AND slice = ? ORDER BY ts",
            [str(cube_file), metric, label]).fetchall()
    finally:
        con.close()
    out = []
    for ts, value, se, num, den, n in rows:
        ok = value is not None and se is not None and math.isfinite(value) and math.isfinite(se)
        out.append(SeriesPoint(ts, value if value is None or math.isfinite(value) else None,
                               value - Z95 * se if ok else None, value + Z95 * se if ok else None,
                               num or 0.0, den or 0.0, int(n or 0)))
    return out


@lru_cache(maxsize=32)
def _slices(cube_file: str, mtime: float) -> tuple[str, ...]:
    con = _connect()
    try:
        return tuple(r[0] for r in con.execute("SELECT DISTINCT slice FROM read_parquet(?)", [cube_file]).fetchall())
    finally:
        con.close()


def children_of(cube_file: Path, parent: tuple[tuple[str, str], ...], dimensions: Sequence[str]) -> list[str]:
    """The cube's slices one dimension deeper than ``parent`` (its pairs) and inside it."""
    out = []
    for key in _slices(str(cube_file), cube_file.stat().st_mtime):
        child = split_label(key, dimensions)
        if len(child) == len(parent) + 1 and set(parent) <= set(child):
            out.append(key)
    return out


def drill_down(cube_file: Path, metric: str, metric_type: str, parent_label: str, dimensions: Sequence[str],
               start: datetime, end: datetime, baseline_start: datetime) -> DrillDown:
    """Each child's baseline value (``[baseline_start, start)``) and current value (``[start, end]``), and
    its contribution to the parent's change.

    With w = a child's share of the parent's denominator (records for composites) and V the parent's
    value, V = Σ w·v, and a child's contribution is w_cur·(v_cur − V_base) − w_base·(v_base − V_base):
    the children of one dimension add up to the parent's change, and a child that only grew in share
    at the parent's average value contributes nothing (mix and rate effects, centred on the baseline).
    """
    _check(cube_file)
    parent = split_label(parent_label, dimensions)
    parent_key = slice_label(parent)
    keys = [parent_key, *children_of(cube_file, parent, dimensions)]
    weight = "n" if metric_type == "composite" else "denominator"
    value = ("sum(value * n) / nullif(sum(n), 0)" if metric_type == "composite"
             else "sum(numerator) / nullif(sum(denominator), 0)")
    con = _connect()
    try:
        con.execute("CREATE TEMP TABLE wanted(slice VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?)", [[k] for k in keys])
        rows = con.execute(
            f"SELECT slice, ts >= ? AS cur, {value} AS v, sum({weight}) AS w, sum(n) AS n FROM read_parquet(?) "
            "WHERE metric = ? AND slice IN (SELECT slice FROM wanted) AND ts >= ? AND ts <= ? GROUP BY ALL",
            [start, str(cube_file), metric, baseline_start, end]).fetchall()
    finally:
        con.close()
    stats: dict[str, dict] = {}
    for key, cur, v, w, n in rows:
        stats.setdefault(key, {})["cur" if cur else "base"] = (v, w or 0.0, int(n or 0))
    empty = (None, 0.0, 0)
    p_base, p_cur = stats.get(parent_key, {}).get("base", empty), stats.get(parent_key, {}).get("cur", empty)
    parent_change = p_cur[0] - p_base[0] if p_cur[0] is not None and p_base[0] is not None else None
    data = []
    for key in keys[1:]:
        base, cur = stats.get(key, {}).get("base", empty), stats.get(key, {}).get("cur", empty)
        contribution = None
        if p_base[0] is not None and p_base[1] and p_cur[1]:
            v_ref = p_base[0]
            contribution = (cur[1] / p_cur[1] * (cur[0] - v_ref) if cur[0] is not None else 0.0) \
                - (base[1] / p_base[1] * (base[0] - v_ref) if base[0] is not None else 0.0)
        data.append(SliceChange(key, base[0], cur[0],
                                cur[0] - base[0] if base[0] is not None and cur[0] is not None else None,
                                base[2], cur[2], contribution,
                                contribution / parent_change if contribution is not None and parent_change else None))
    data.sort(key=lambda d: -abs(d.contribution) if d.contribution is not None else 0.0)
    return DrillDown(parent_key, p_base[0], p_cur[0], tuple(data))


def default_baseline_start(start: datetime, end: datetime, grain: str) -> datetime:
    """The window of the same length just before ``start`` (windows include their last bucket)."""
    return start - (end - start + BUCKET[grain])
