"""Reads over a workspace's metric cube (Parquet, through DuckDB): series for a slice, drill-down children."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import duckdb

from backend.errors import Conflict, Invalid

Z95 = 1.959963984540054


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    return con


def _se_sql(metric_type: str) -> str:
    """SQL for the standard error of one cube row's value (delta method; rates reduce to binomial)."""
    if metric_type == "rate":
        return "sqrt(greatest(value * (1 - value), 0) / nullif(denominator, 0))"
    if metric_type == "mean":
        return "sqrt(greatest(num_sq / nullif(denominator, 0) - value * value, 0) / nullif(denominator, 0))"
    if metric_type == "ratio":
        return ("sqrt(greatest(num_sq - 2 * value * num_den + value * value * den_sq, 0)) "
                "/ nullif(denominator, 0)")
    return "NULL::DOUBLE"


_ESCAPED = re.compile(r"%(25|26|3D)", re.IGNORECASE)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


def slice_label(text: str, dimensions: list[str]) -> tuple[str, str]:
    """The cube's label for a requested slice, and the request's canonical (escaped) text.

    A request is ``dim=value`` pairs joined by ``&`` (``*``: the total), where a ``%``, ``&`` or ``=``
    inside a dimension or a value is written ``%25``, ``%26`` or ``%3D``; any other ``%`` stays as is.
    Every dimension must be one of the workspace's, once: a request that splits into something else is
    a 422, never a silently empty series. The cube label joins the raw pairs, dimensions sorted by name.
    """
    text = text.strip()
    if text in ("", "*"):
        return "*", "*"
    pairs: dict[str, str] = {}
    for part in text.split("&"):
        dim, sep, value = part.strip().partition("=")
        dim, value = (_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), x) for x in (dim, value))
        if not sep or not dim:
            raise Invalid(f"slice {text!r}: expected dim=value pairs joined by '&' (write & = % inside a value as "
                          "%26 %3D %25)")
        if dim not in dimensions:
            raise Invalid(f"slice {text!r}: {dim!r} is not a dimension of this workspace ({', '.join(dimensions)}); "
                          "write & = % inside a value as %26 %3D %25")
        if dim in pairs:
            raise Invalid(f"slice {text!r}: dimension {dim!r} appears twice")
        pairs[dim] = value
    ordered = sorted(pairs.items())
    return ("&".join(f"{d}={v}" for d, v in ordered),
            "&".join(f"{_escape(d)}={_escape(v)}" for d, v in ordered))


def split_label(label: str, dimensions: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The (dimension, value) pairs of a cube label: raw ``dim=value`` pairs joined by ``&``, sorted by
    dimension (``*``: the total, no pairs). A pair starts at the beginning or after an ``&`` followed by
    ``dim=`` for a dimension that sorts after the previous pair's, so an ``&`` or ``=`` inside a value stays
    in it; the UI splits the same way (``frontend/src/lib/slices.ts``, ``slicePairs``)."""
    if label in ("", "*"):
        return ()
    dims = sorted(dimensions, key=len, reverse=True)  # "region_group" before its prefix "region"

    def starts(at: int, after: str | None) -> str | None:
        return next((d for d in dims if (after is None or d > after) and label.startswith(f"{d}=", at)), None)

    dim = starts(0, None)
    if dim is None:
        raise Invalid(f"slice {label!r} names no dimension of this workspace ({', '.join(dimensions)})")
    pairs = []
    start = i = len(dim) + 1
    while i < len(label):
        following = starts(i + 1, dim) if label[i] == "&" else None
        if following is None:
            i += 1
            continue
        pairs.append((dim, label[start:i]))
        dim, start = following, i + 2 + len(following)
        i = start
    pairs.append((dim, label[start:]))
    return tuple(pairs)


def series(cube_file: Path, metric: str, metric_type: str, slice_key: str) -> list[dict]:
    """Every bucket of ``metric`` in ``slice_key``, oldest first, with a 95% interval."""
    if not cube_file.is_file():
        raise Conflict("this workspace has no metric cube yet; build it (POST .../cube) or run the job")
    se = _se_sql(metric_type)
    con = _connect()
    try:
        rows = con.execute(
            f"SELECT ts, value, {se} AS se, numerator, denominator, n FROM read_parquet(?) "
            "WHERE metric = ? AND slice = ? ORDER BY ts", [str(cube_file), metric, slice_key]).fetchall()
    finally:
        con.close()
    out = []
    for ts, value, se_value, num, den, n in rows:
        ok = value is not None and se_value is not None and math.isfinite(value) and math.isfinite(se_value)
        out.append({"ts": ts, "value": value if value is None or math.isfinite(value) else None,
                    "low": value - Z95 * se_value if ok else None, "high": value + Z95 * se_value if ok else None,
                    "numerator": num or 0.0, "denominator": den or 0.0, "n": int(n or 0)})
    return out


@lru_cache(maxsize=32)
def _slices(cube_file: str, mtime: float) -> tuple[str, ...]:
    con = _connect()
    try:
        return tuple(r[0] for r in con.execute("SELECT DISTINCT slice FROM read_parquet(?)", [cube_file]).fetchall())
    finally:
        con.close()


def children_of(cube_file: Path, parent: tuple[tuple[str, str], ...], dimensions: Sequence[str]) -> list[str]:
    """Slices one dimension deeper than ``parent`` (its pairs) and inside it."""
    out = []
    for key in _slices(str(cube_file), cube_file.stat().st_mtime):
        child = split_label(key, dimensions)
        if len(child) == len(parent) + 1 and set(parent) <= set(child):
            out.append(key)
    return out


def drill_down(cube_file: Path, metric: str, metric_type: str, parent_label: str, dimensions: Sequence[str],
               start: datetime, end: datetime, baseline_start: datetime) -> dict:
    """Each child's baseline and current value, and its contribution to the parent's change.

    With w = a child's share of the parent's denominator (records for composites) and V the parent's
    value, V = Σ w·v, and a child's contribution is w_cur·(v_cur − V_base) − w_base·(v_base − V_base):
    the children of one dimension add up to the parent's change, and a child that only grew in share
    at the parent's average value contributes nothing (mix and rate effects, centred on the baseline).
    """
    if not cube_file.is_file():
        raise Conflict("this workspace has no metric cube yet; build it (POST .../cube) or run the job")
    parent = split_label(parent_label, dimensions)
    parent_key = "&".join(f"{d}={v}" for d, v in parent) or "*"
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
        data.append({"slice": key, "baseline": base[0], "current": cur[0],
                     "change": cur[0] - base[0] if base[0] is not None and cur[0] is not None else None,
                     "baseline_n": base[2], "current_n": cur[2], "contribution": contribution,
                     "share": contribution / parent_change if contribution is not None and parent_change else None})
    data.sort(key=lambda d: -abs(d["contribution"]) if d["contribution"] is not None else 0.0)
    return {"parent": parent_key, "parent_baseline": p_base[0], "parent_current": p_cur[0], "data": data}


def default_baseline_start(start: datetime, end: datetime, grain: str) -> datetime:
    """The window of the same length just before ``start`` (windows include their last bucket)."""
    step = timedelta(hours=1) if grain == "hour" else timedelta(days=1)
    return start - (end - start + step)
