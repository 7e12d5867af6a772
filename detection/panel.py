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
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data.errors import UserError

Kind = Literal["rate", "mean", "ratio", "composite"]
Grain = Literal["hour", "day"]
GRAIN_STEP = {"hour": np.timedelta64(1, "h"), "day": np.timedelta64(1, "D")}
CUBE_FIELDS = ("ts", "slice", "metric", "value", "numerator", "denominator", "n", "num_sq", "den_sq", "num_den")


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
    kind: Kind = "mean"
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


def read_cube(cube: pd.DataFrame | str | Path) -> pa.Table:
    """The cube as an Arrow table with dictionary-encoded ``slice`` and ``metric``."""
    if isinstance(cube, pd.DataFrame):
        missing = [c for c in CUBE_FIELDS if c not in cube.columns]
        if missing:
            raise UserError(f"cube: missing column {missing[0]!r} (a metric cube has {', '.join(CUBE_FIELDS)})")
        table = pa.Table.from_pandas(cube[list(CUBE_FIELDS)], preserve_index=False)
    else:
        path = Path(cube)
        if not path.exists():
            raise UserError(f"cube {path}: file not found (build it with `cxw metrics`)")
        try:
            table = pq.read_table(path, columns=list(CUBE_FIELDS), read_dictionary=["slice", "metric"])
        except (pa.ArrowInvalid, OSError, KeyError) as err:
            raise UserError(f"cube {path}: cannot read: {str(err).splitlines()[0]}") from None
    for name in ("slice", "metric"):
        col = table.column(name)
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        table = table.set_column(table.schema.get_field_index(name), name, col)
    return table.unify_dictionaries().combine_chunks()


@dataclass(frozen=True)
class CubeAxes:
    """The shared axes of a pivoted cube: every bucket from first to last, every slice."""

    ts: np.ndarray  # (T,) datetime64[ns]
    slices: np.ndarray  # (S,) object
    grain: Grain


def panels_from_cube(table: pa.Table, kinds: dict[str, Kind], grain: Grain,
                     ) -> tuple[CubeAxes, dict[str, Panel]]:
    """Pivot the long cube into one `Panel` per metric in ``kinds``, all on the same axes."""
    step = GRAIN_STEP[grain].astype("timedelta64[ns]").astype(np.int64)
    ts = table.column("ts").cast(pa.timestamp("ns")).to_numpy().astype("datetime64[ns]").astype(np.int64)
    if len(ts) == 0:
        raise UserError("cube: no rows")
    t0, t1 = ts.min(), ts.max()
    t_idx = (ts - t0) // step
    T = int((t1 - t0) // step) + 1
    slice_col = table.column("slice").combine_chunks()
    slice_names = np.asarray(slice_col.dictionary.to_pylist(), dtype=object)
    s_idx = slice_col.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    metric_col = table.column("metric").combine_chunks()
    metric_names = metric_col.dictionary.to_pylist()
    m_idx = metric_col.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(slice_names.astype(str), kind="stable")  # '*' sorts first
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    s_idx = rank[s_idx]
    slices = slice_names[order]
    S = len(slices)
    fields = {name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
              for name in ("value", "numerator", "denominator", "n", "num_sq", "den_sq", "num_den")}
    axes = CubeAxes(np.datetime64(int(t0), "ns") + np.arange(T) * np.timedelta64(int(step), "ns"), slices, grain)
    panels: dict[str, Panel] = {}
    for metric, kind in kinds.items():
        if metric not in metric_names:
            raise UserError(f"cube: metric {metric!r} is not in the cube (rebuild it with `cxw metrics`)")
        rows = np.flatnonzero(m_idx == metric_names.index(metric))
        flat = s_idx[rows] * T + t_idx[rows]

        def dense(values: np.ndarray) -> np.ndarray:
            out = np.zeros(S * T)
            out[flat] = np.nan_to_num(values, nan=0.0)
            return out.reshape(S, T)

        n = dense(fields["n"][rows])
        if kind == "composite":
            value = fields["value"][rows]
            defined = ~np.isnan(value)
            x = dense(np.where(defined, value * fields["n"][rows], 0.0))
            y = dense(np.where(defined, fields["n"][rows], 0.0))
            panels[metric] = Panel(x, y, n, None, None, None, axes.ts, slices, kind, grain, metric)
        else:
            panels[metric] = Panel(dense(fields["numerator"][rows]), dense(fields["denominator"][rows]), n,
                                   dense(fields["num_sq"][rows]), dense(fields["den_sq"][rows]),
                                   dense(fields["num_den"][rows]), axes.ts, slices, kind, grain, metric)
    return axes, panels
