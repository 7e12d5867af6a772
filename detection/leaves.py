"""Leaves for localization: every combination of all dimensions, real vs. expected, from one DuckDB scan.

A localizer (`detection.localize`) explains a change by the slices whose leaves moved. For a regression
of a ratio metric ΣX/ΣY over a window, each leaf gets

- real numerator and denominator: ΣX and ΣY over the window;
- predicted denominator: the leaf's baseline ΣY scaled by the window's volume (ΣY window / ΣY baseline,
  over all leaves), so a leaf that merely got busier is not "anomalous";
- predicted numerator: the leaf's baseline ratio (shrunk by a few pseudo-records toward its value of the
  most detailed dimension — its store — and that toward the overall ratio, so a leaf of three orders is
  neither a 0 % or 100 % rate nor an average one) × the seasonal factor of the
  window (the total's expected value over the window / its baseline level) × the predicted denominator.

A composite metric is additive in ``records × value``: real = n × value over the window, predicted =
n × the leaf's baseline value (its components shrunk the same way), with n the window's records.
The sums for every metric and window come from one GROUP BY over the records (by leaf and time segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from data.sources import OpenWorkspace, quote, sql_literal
from data.workspace import MetricSpec, Workspace
from metrics.definitions import composite_parts, label_sql, oriented, record_sql


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) of the records."""

    start: datetime
    end: datetime

    def sql(self, column: str) -> str:
        return (f"{quote(column)} >= TIMESTAMP {sql_literal(self.start.isoformat(sep=' '))} AND "
                f"{quote(column)} < TIMESTAMP {sql_literal(self.end.isoformat(sep=' '))}")


def leaf_sums(ow: OpenWorkspace, metrics: list[MetricSpec], periods: list[Period]) -> pd.DataFrame:
    """Per leaf: ``n_{j}``, ``x_{i}_{j}``, ``y_{i}_{j}`` for metric i and period j (0 where absent).

    Periods may overlap. Their boundaries cut time into segments; one GROUP BY over the records by leaf
    and segment gives every sum once, and each period adds up its segments.
    """
    ws = ow.workspace
    dims = ws.records.dimensions
    ts = ws.records.timestamp
    bounds = sorted({p.start for p in periods} | {p.end for p in periods})
    cases = " ".join(f"WHEN {quote(ts)} < TIMESTAMP {sql_literal(b.isoformat(sep=' '))} THEN {i}"
                     for i, b in enumerate(bounds[1:]))
    cols = [f"{label_sql(quote(d))} AS {quote(d)}" for d in dims]
    cols.append(f"CASE {cases} END AS __segment")
    keys = ", ".join(quote(d) for d in dims)
    inputs = ", ".join(f"({record_sql(m).x}) AS __x{i}, ({record_sql(m).y}) AS __y{i}" for i, m in enumerate(metrics))
    sums = ", ".join(["count(*) AS n"] + [f"coalesce(sum(__x{i}), 0) AS x_{i}, coalesce(sum(__y{i}), 0) AS y_{i}"
                                         for i in range(len(metrics))])
    sql = (f"SELECT {keys}, __segment, {sums} FROM (SELECT {', '.join(cols)}, {inputs} FROM records "
           f"WHERE {Period(bounds[0], bounds[-1]).sql(ts)}) GROUP BY {keys}, __segment "
           f"ORDER BY {keys}, __segment")  # one leaf order from either engine
    segments = ow.engine.frame(sql)
    seg = segments["__segment"].to_numpy()
    value_cols = ["n"] + [f"{c}_{i}" for i in range(len(metrics)) for c in ("x", "y")]
    leaves = segments[dims].drop_duplicates().reset_index(drop=True)
    leaf_of = segments[dims].merge(leaves.reset_index(), on=dims, how="left")["index"].to_numpy()
    values = segments[value_cols].to_numpy(dtype=float)
    out = {}
    for j, p in enumerate(periods):
        inside = (seg >= bounds.index(p.start)) & (seg < bounds.index(p.end))
        total = np.zeros((len(leaves), len(value_cols)))
        np.add.at(total, leaf_of[inside], values[inside])
        for k, name in enumerate(value_cols):
            out[f"n_{j}" if name == "n" else f"{name}_{j}"] = total[:, k]
    return pd.concat([leaves, pd.DataFrame(out)], axis=1)


def shrunk_ratio(x: np.ndarray, y: np.ndarray, n: np.ndarray, parent: np.ndarray | None = None,
                 pseudo: float = 20.0) -> np.ndarray:
    """Leaf ratios ΣX/ΣY pulled toward ``parent`` (default: the overall ratio) by ``pseudo`` records of ΣY."""
    overall = x.sum() / y.sum() if y.sum() > 0 else 0.0
    unit = y.sum() / max(n.sum(), 1.0)
    k = pseudo * unit
    return (x + k * (overall if parent is None else parent)) / (y + k)


def leaf_baseline(sums: pd.DataFrame, dims: list[str], x: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each leaf's baseline ratio, shrunk toward its value of the most detailed dimension (shrunk in turn
    toward the overall ratio): a three-order leaf of a fast store is predicted fast, not average."""
    finest = max(dims, key=lambda d: sums[d].nunique())
    codes, _ = pd.factorize(sums[finest])
    px, py, pn = (np.bincount(codes, weights=a) for a in (x, y, n))
    parent = shrunk_ratio(px, py, pn)[codes]
    return shrunk_ratio(x, y, n, parent)


@dataclass(frozen=True)
class LeafFrames:
    """What a localizer gets: ``numerator`` and ``denominator`` leaves (ratio form) or ``additive`` leaves."""

    dims: list[str]
    numerator: pd.DataFrame | None = None
    denominator: pd.DataFrame | None = None
    additive: pd.DataFrame | None = None


def ratio_leaves(sums: pd.DataFrame, dims: list[str], i: int, base: int, window: int,
                 seasonal: float = 1.0, rate: bool = False) -> LeafFrames:
    """Numerator and denominator leaves of metric ``i`` for the window (period ``window``) vs. ``base``."""
    xb, yb = sums[f"x_{i}_{base}"].to_numpy(float), sums[f"y_{i}_{base}"].to_numpy(float)
    nb = sums[f"n_{base}"].to_numpy(float)
    xw, yw = sums[f"x_{i}_{window}"].to_numpy(float), sums[f"y_{i}_{window}"].to_numpy(float)
    volume = yw.sum() / yb.sum() if yb.sum() > 0 else 1.0
    y_hat = yb * volume
    ratio = leaf_baseline(sums, dims, xb, yb, nb) * seasonal
    if rate:
        ratio = np.clip(ratio, 0.0, 1.0)
    keys = sums[dims].reset_index(drop=True)
    num = keys.assign(real=xw, predict=ratio * y_hat)
    den = keys.assign(real=yw, predict=y_hat)
    keep = (num["real"] != 0) | (num["predict"] != 0) | (den["real"] != 0) | (den["predict"] != 0)
    return LeafFrames(dims, num[keep].reset_index(drop=True), den[keep].reset_index(drop=True))


def composite_leaves(sums: pd.DataFrame, dims: list[str], ws: Workspace, metric: MetricSpec,
                     index: dict[str, int], base: int, window: int) -> LeafFrames:
    """Additive leaves ``records × value`` of a composite metric for the window vs. ``base``."""
    nb, nw = sums[f"n_{base}"].to_numpy(float), sums[f"n_{window}"].to_numpy(float)
    value_b = np.zeros(len(sums))
    value_w = np.zeros(len(sums))
    for part in composite_parts(metric, ws.metrics):
        i = index[part.name]
        xb, yb = sums[f"x_{i}_{base}"].to_numpy(float), sums[f"y_{i}_{base}"].to_numpy(float)
        xw, yw = sums[f"x_{i}_{window}"].to_numpy(float), sums[f"y_{i}_{window}"].to_numpy(float)
        rb = leaf_baseline(sums, dims, xb, yb, nb)
        rw = np.divide(xw, yw, out=rb.copy(), where=yw > 0)  # a leaf without this component: as expected
        value_b += part.weight * oriented(rb, part.spec)
        value_w += part.weight * oriented(rw, part.spec)
    leaves = sums[dims].reset_index(drop=True).assign(real=nw * value_w, predict=nw * value_b)
    return LeafFrames(dims, additive=leaves[nw > 0].reset_index(drop=True))
