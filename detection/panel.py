"""Panels: one metric of the cube as dense slice × time arrays, the input every detector works on.

The cube is long and sparse (a row per bucket in which a slice has records). Detectors need, for each
metric, 2-D arrays ``(slices, buckets)`` of the sums the cube keeps — ΣX, ΣY, records, ΣX², ΣY², ΣXY —
with zeros where a slice had no records, so that they can work on every slice at once. `panels_from_cube`
pivots the whole cube in one pass of NumPy scatter (no loop over slices); `Panel.from_rates` and
`Panel.from_values` build panels from plain arrays for tests and notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data.errors import UserError
from data.workspace import Grain, MetricKind
from metrics.cube import EngineCube
from metrics.definitions import CUBE_COLUMNS

GRAIN_STEP = {"hour": np.timedelta64(1, "h"), "day": np.timedelta64(1, "D")}


@dataclass(frozen=True, eq=False)
class Panel:
    """One metric over ``S`` slices × ``T`` consecutive buckets; every array is ``(S, T)`` float64.

    ``numerator``/``denominator`` are ΣX/ΣY per bucket (the value is their ratio), ``n`` the records;
    ``num_sq``, ``den_sq``, ``num_den`` are ΣX², ΣY², ΣXY (None for a composite, which has no moments:
    its numerator is ``value × n`` and its denominator ``n``, so pooling weighs buckets by records).
    A bucket without records has zeros everywhere.
    """

    numerator: np.ndarray
    denominator: np.ndarray
    n: np.ndarray
    num_sq: np.ndarray | None
    den_sq: np.ndarray | None
    num_den: np.ndarray | None
    ts: np.ndarray  # (T,) datetime64[ns], bucket starts, evenly spaced by the grain
    slices: np.ndarray  # (S,) slice keys (``*``, ``region=west``, ...)
    kind: MetricKind = "mean"
    grain: Grain = "hour"
    metric: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return self.numerator.shape

    @property
    def has_moments(self) -> bool:
        return self.num_sq is not None

    @property
    def observed(self) -> np.ndarray:
        """``(S, T)`` bool: the bucket has a defined value."""
        return self.denominator > 0

    def values(self) -> np.ndarray:
        """``(S, T)`` ΣX/ΣY per bucket, NaN where undefined."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.observed, self.numerator / np.where(self.observed, self.denominator, 1.0), np.nan)

    def seasons(self) -> tuple[int, np.ndarray, int, np.ndarray]:
        """``(P, season, C, coarse)``: the seasonal cell of each bucket and its coarser cell.

        Hourly grain: hour-of-week (168 cells, Monday 00:00 first) within hour-of-day (24 cells).
        Daily grain: day-of-week (7 cells) within one cell.
        """
        ts = pd.DatetimeIndex(self.ts)
        if self.grain == "hour":
            hour = np.asarray(ts.hour, dtype=np.int64)
            return 168, np.asarray(ts.day_of_week, dtype=np.int64) * 24 + hour, 24, hour
        return 7, np.asarray(ts.day_of_week, dtype=np.int64), 1, np.zeros(len(ts), dtype=np.int64)

    def columns(self, start: int, stop: int) -> Panel:
        """The buckets ``start:stop`` (a view, no copy)."""
        cut = slice(start, stop)
        return replace(self, **{k: (None if getattr(self, k) is None else getattr(self, k)[:, cut])
                                for k in ("numerator", "denominator", "n", "num_sq", "den_sq", "num_den")},
                       ts=self.ts[cut])

    def rows(self, index: np.ndarray) -> Panel:
        """The slices ``index`` (an integer array or a boolean mask)."""
        return replace(self, **{k: (None if getattr(self, k) is None else getattr(self, k)[index])
                                for k in ("numerator", "denominator", "n", "num_sq", "den_sq", "num_den")},
                       slices=self.slices[index])

    # -- constructors from plain arrays ------------------------------------------------------------

    @classmethod
    def from_rates(cls, successes, trials, start: str = "2026-01-05", grain: Grain = "hour",
                   slices=None, metric: str = "rate") -> Panel:
        """A rate panel from counts: ``successes`` of ``trials`` per slice and bucket."""
        x = np.atleast_2d(np.asarray(successes, dtype=float))
        y = np.atleast_2d(np.asarray(trials, dtype=float)) * np.ones_like(x)
        return cls(x, y, y.copy(), x.copy(), y.copy(), x.copy(), _axis(start, x.shape[1], grain),
                   _names(slices, x.shape[0]), "rate", grain, metric)

    @classmethod
    def from_values(cls, values, n=1.0, sd=1.0, start: str = "2026-01-05", grain: Grain = "hour",
                    slices=None, metric: str = "mean") -> Panel:
        """A mean panel from bucket means ``values`` over ``n`` records with per-record ``sd``."""
        v = np.atleast_2d(np.asarray(values, dtype=float))
        n = np.atleast_2d(np.asarray(n, dtype=float)) * np.ones_like(v)
        sd = np.atleast_2d(np.asarray(sd, dtype=float)) * np.ones_like(v)
        v = np.where(n > 0, np.nan_to_num(v), 0.0)
        x = v * n
        return cls(x, n, n.copy(), n * (v * v + sd * sd), n.copy(), x.copy(), _axis(start, v.shape[1], grain),
                   _names(slices, v.shape[0]), "mean", grain, metric)


def _axis(start: str, length: int, grain: Grain) -> np.ndarray:
    return np.datetime64(pd.Timestamp(start).floor("D").to_datetime64(), "ns") + np.arange(length) * GRAIN_STEP[grain]


def _names(slices, count: int) -> np.ndarray:
    if slices is None:
        return np.array([f"s{i}" for i in range(count)], dtype=object)
    names = np.asarray(list(slices), dtype=object)
    if len(names) != count:
        raise ValueError(f"{len(names)} slice names for {count} rows")
    return names


# -- the cube, pivoted ------------------------------------------------------------------------------

# The cube columns a metric kind needs: a rate's moments equal its sums (X² = X, Y = 1), a composite
# has only values.
NEEDED = {
    "rate": ("numerator", "denominator", "n"),
    "mean": ("numerator", "denominator", "n", "num_sq"),
    "ratio": ("numerator", "denominator", "n", "num_sq", "den_sq", "num_den"),
    "composite": ("value", "n"),
}


def _time_range(path: Path):
    """First and last bucket of a cube file, from the row groups' statistics when they are there."""
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.to_arrow_schema().get_field_index("ts")
    stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
    if stats and all(st is not None and st.has_min_max for st in stats):
        return min(st.min for st in stats), max(st.max for st in stats)
    ts = pq.read_table(path, columns=["ts"]).column("ts")
    return pc.min(ts).as_py(), pc.max(ts).as_py()


class CubeSource:
    """A metric cube (Parquet file, DataFrame or `metrics.cube.EngineCube`) read one metric at a time and
    pivoted to panels.

    The cube is written metric by metric, so a filter on ``metric`` reads only that metric's row groups,
    and only the columns its kind needs. The time axis (every bucket from the cube's first to its last)
    is shared by all metrics; each metric has its own slices, sorted (``*`` first).
    """

    def __init__(self, cube: pd.DataFrame | str | Path | EngineCube, grain: Grain):
        self.grain = grain
        self._table: pa.Table | None = None
        self._path: Path | None = None
        self._engine: EngineCube | None = None
        if isinstance(cube, EngineCube):
            self._engine = cube
            lo, hi = cube.time_range()
        elif isinstance(cube, pd.DataFrame):
            missing = [c for c in CUBE_COLUMNS if c not in cube.columns]
            if missing:
                raise UserError(f"cube: missing column {missing[0]!r} (a metric cube has {', '.join(CUBE_COLUMNS)})")
            self._table = pa.Table.from_pandas(cube[list(CUBE_COLUMNS)], preserve_index=False)
            ts = self._table.column("ts")
            lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
        else:
            self._path = Path(cube)
            if not self._path.exists():
                raise UserError(f"cube {self._path}: file not found (build it with `cxw metrics`)")
            try:
                lo, hi = _time_range(self._path)
            except (pa.ArrowInvalid, OSError, KeyError) as err:
                raise UserError(f"cube {self._path}: cannot read: {str(err).splitlines()[0]}") from None
        if lo is None:
            raise UserError("cube: no rows")
        step = GRAIN_STEP[grain]
        start = np.datetime64(pd.Timestamp(lo).to_datetime64(), "ns")
        T = int((np.datetime64(pd.Timestamp(hi).to_datetime64(), "ns") - start) // step) + 1
        self.ts = start + np.arange(T) * step.astype("timedelta64[ns]")

    def _metric_table(self, metric: str, columns: tuple[str, ...]) -> pa.Table:
        wanted = ["ts", "slice", *columns]
        if self._engine is not None:
            table = self._engine.metric_table(metric, columns)
        elif self._table is not None:
            table = self._table.filter(pc.equal(self._table.column("metric"), metric)).select(wanted)
        else:
            try:
                table = pq.read_table(self._path, columns=wanted, filters=[("metric", "=", metric)],
                                      read_dictionary=["slice"]).unify_dictionaries()
            except (pa.ArrowInvalid, OSError, KeyError) as err:
                raise UserError(f"cube {self._path}: cannot read: {str(err).splitlines()[0]}") from None
        if table.num_rows == 0:
            raise UserError(f"cube: metric {metric!r} is not in the cube (rebuild it with `cxw metrics`)")
        return table

    def panel(self, metric: str, kind: MetricKind, support: tuple[tuple[int, int], ...] = (), min_support: float = 0,
              ) -> tuple[Panel, int]:
        """The metric's `Panel` over every bucket, keeping the slices with at least ``min_support`` records in
        each bucket range of ``support``; also returns how many slices were dropped."""
        table = self._metric_table(metric, NEEDED[kind])
        step = GRAIN_STEP[self.grain].astype("timedelta64[ns]").astype(np.int64)
        ts = table.column("ts").cast(pa.timestamp("ns")).to_numpy().astype("datetime64[ns]").astype(np.int64)
        t_idx = (ts - self.ts[0].astype(np.int64)) // step
        codes = table.column("slice")
        codes = (codes if pa.types.is_dictionary(codes.type) else pc.dictionary_encode(codes)).combine_chunks()
        names = np.asarray(codes.dictionary.to_pylist(), dtype=object)
        order = np.argsort(names.astype(str), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        s_idx = rank[codes.indices.to_numpy(zero_copy_only=False)]
        names = names[order]
        n = np.nan_to_num(table.column("n").to_numpy(zero_copy_only=False).astype(np.float64))
        keep = np.ones(len(names), dtype=bool)
        for lo, hi in support:
            inside = (t_idx >= lo) & (t_idx < hi)
            keep &= np.bincount(s_idx[inside], weights=n[inside], minlength=len(names)) >= min_support
        position = np.full(len(names), -1, dtype=np.int64)
        position[keep] = np.arange(int(keep.sum()))
        s_idx = position[s_idx]
        rows = s_idx >= 0
        S, T = int(keep.sum()), len(self.ts)
        flat = s_idx[rows] * T + t_idx[rows]
        if flat.size and np.bincount(flat, minlength=S * T).max() > 1:
            raise UserError(f"cube: {metric!r} has several rows for one slice and {self.grain}; was it built at "
                            f"another grain than the workspace's records.grain ({self.grain})? Rebuild it")

        def dense(values: np.ndarray) -> np.ndarray:
            out = np.zeros(S * T)
            out[flat] = values[rows]
            return np.nan_to_num(out, copy=False).reshape(S, T)

        def column(name: str) -> np.ndarray:
            return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)

        slices = names[keep]
        counts = dense(n)
        if kind == "composite":
            value = column("value")
            defined = ~np.isnan(value)
            x, y = dense(np.where(defined, value * n, 0.0)), dense(np.where(defined, n, 0.0))
            panel = Panel(x, y, counts, None, None, None, self.ts, slices, kind, self.grain, metric)
        elif kind == "rate":
            x, y = dense(column("numerator")), dense(column("denominator"))
            panel = Panel(x, y, counts, x, y, x, self.ts, slices, kind, self.grain, metric)
        elif kind == "mean":
            x, y = dense(column("numerator")), dense(column("denominator"))
            panel = Panel(x, y, counts, dense(column("num_sq")), y, x, self.ts, slices, kind, self.grain, metric)
        else:
            panel = Panel(*(dense(column(c)) for c in ("numerator", "denominator")), counts,
                          *(dense(column(c)) for c in ("num_sq", "den_sq", "num_den")), self.ts, slices, kind,
                          self.grain, metric)
        return panel, len(names) - S


def panels_from_cube(cube: pd.DataFrame | str | Path | EngineCube, kinds: dict[str, MetricKind],
                     grain: Grain) -> dict[str, Panel]:
    """Every slice of each metric in ``kinds`` as a `Panel` (all on the cube's time axis)."""
    source = CubeSource(cube, grain)
    return {metric: source.panel(metric, kind)[0] for metric, kind in kinds.items()}
