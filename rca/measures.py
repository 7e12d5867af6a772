"""Metrics as per-record sums, for the RCA stage's own scans (panels, series, samples).

Every workspace metric is a ratio of per-record sums, ΣX / ΣY (see `data.workspace.MetricSpec`); a
composite is a weighted mean of its oriented components. `Measures` compiles the SQL for X and Y of
every base metric once, and turns sums (from DuckDB) back into metric values with numpy, so one scan
serves every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.sources import quote
from data.workspace import MetricSpec, Workspace


@dataclass(frozen=True)
class Measures:
    """The base metrics of a workspace with their per-record X/Y SQL, and composites on top."""

    metrics: tuple[MetricSpec, ...]

    @classmethod
    def of(cls, ws: Workspace) -> "Measures":
        return cls(tuple(ws.metrics))

    @property
    def base(self) -> tuple[MetricSpec, ...]:
        return tuple(m for m in self.metrics if m.type != "composite")

    def spec(self, name: str) -> MetricSpec:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def record_columns(self) -> list[str]:
        """``x_<i>`` and ``y_<i>`` per base metric, NULL when the record does not count for it."""
        cols = []
        for i, m in enumerate(self.base):
            if m.type in ("rate", "mean"):
                x = f"CAST(({m.expr}) AS DOUBLE)"
                cols += [f"{x} AS x_{i}", f"CASE WHEN ({x}) IS NOT NULL THEN 1.0 END AS y_{i}"]
            else:
                num, den = f"CAST(({m.numerator}) AS DOUBLE)", f"CAST(({m.denominator}) AS DOUBLE)"
                both = f"({num}) IS NOT NULL AND ({den}) IS NOT NULL"
                cols += [f"CASE WHEN {both} THEN {num} END AS x_{i}", f"CASE WHEN {both} THEN {den} END AS y_{i}"]
        return cols

    def sum_columns(self, where: str | None = None, suffix: str = "") -> list[str]:
        """SQL aggregates ``sx_<i>``, ``sy_<i>`` (optionally FILTERed), over a query exposing x_i, y_i."""
        filt = f" FILTER (WHERE {where})" if where else ""
        out = []
        for i, _ in enumerate(self.base):
            out += [f"coalesce(sum(x_{i}){filt}, 0) AS sx_{i}{suffix}", f"coalesce(sum(y_{i}){filt}, 0) AS sy_{i}{suffix}"]
        return out

    def value(self, frame: pd.DataFrame | dict, metric: str, suffix: str = "") -> np.ndarray:
        """Metric values from a frame holding ``sx_<i>``/``sy_<i>`` sums (NaN where the denominator is 0)."""
        m = self.spec(metric)
        if m.type != "composite":
            i = self._index(metric)
            den = np.asarray(frame[f"sy_{i}{suffix}"], float)
            num = np.asarray(frame[f"sx_{i}{suffix}"], float)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        total = sum(m.weights.values())
        out = 0.0
        for component, weight in m.weights.items():
            out = out + (weight / total) * self.oriented(self.value(frame, component, suffix), component)
        return out

    def weight(self, frame: pd.DataFrame | dict, metric: str, suffix: str = "") -> np.ndarray:
        """How much each row counts for the metric: ΣY (the composite uses its first component's ΣY)."""
        m = self.spec(metric)
        if m.type == "composite":
            return np.max([self.weight(frame, c, suffix) for c in m.weights], axis=0)
        return np.asarray(frame[f"sy_{self._index(metric)}{suffix}"], float)

    def oriented(self, values: np.ndarray, metric: str) -> np.ndarray:
        """A component as it enters a composite: higher is better."""
        m = self.spec(metric)
        if m.good == "down":
            return 1.0 - values if m.type == "rate" else -values
        return values

    def record_target(self, frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-record outcome and weight for modelling: X/Y with weight Y (composite: imputed components)."""
        m = self.spec(metric)
        if m.type != "composite":
            i = self._index(metric)
            x, y = frame[f"x_{i}"].to_numpy(float), frame[f"y_{i}"].to_numpy(float)
            ok = np.isfinite(x) & np.isfinite(y) & (y != 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                target = np.where(ok, x / np.where(ok, y, 1.0), np.nan)
            return target, np.where(ok, np.abs(y), 0.0)
        total = sum(m.weights.values())
        out = np.zeros(len(frame))
        for component, weight in m.weights.items():
            t, w = self.record_target(frame, component)
            fill = np.nansum(t * w) / max(w.sum(), 1e-12) if np.isfinite(t).any() else 0.0
            out = out + (weight / total) * self.oriented(np.where(np.isfinite(t), t, fill), component)
        return out, np.ones(len(frame))

    def sum_names(self, metric: str) -> list[str]:
        """The ``sx_<i>``/``sy_<i>`` columns a metric's value needs."""
        m = self.spec(metric)
        if m.type == "composite":
            return [c for component in m.weights for c in self.sum_names(component)]
        i = self._index(metric)
        return [f"sx_{i}", f"sy_{i}"]

    def _index(self, metric: str) -> int:
        for i, m in enumerate(self.base):
            if m.name == metric:
                return i
        raise KeyError(metric)


def slice_predicate(filters: tuple[tuple[str, str], ...]) -> str:
    """SQL for one slice (a conjunction of dim=value), matching the cube's labels (nulls read ``(null)``)."""
    if not filters:
        return "TRUE"
    parts = []
    for dim, value in filters:
        escaped = value.replace("'", "''")
        parts.append(f"coalesce(CAST({quote(dim)} AS VARCHAR), '(null)') = '{escaped}'")
    return "(" + " AND ".join(parts) + ")"


def scope_predicate(slices) -> str:
    """SQL for a scope: the union of slices; the empty scope means everything."""
    slices = tuple(slices)
    if not slices or any(not s.filters for s in slices):
        return "TRUE"
    singles: dict[str, list[str]] = {}
    parts = []
    for s in slices:
        if len(s.filters) == 1:
            singles.setdefault(s.filters[0][0], []).append(s.filters[0][1])
        else:
            parts.append(slice_predicate(s.filters))
    for dim, values in singles.items():  # many values of one dimension: one IN list
        listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        parts.append(f"coalesce(CAST({quote(dim)} AS VARCHAR), '(null)') IN ({listed})")
    return "(" + " OR ".join(parts) + ")"
