"""Metrics as per-record sums, for the RCA stage's own scans (panels, series, samples).

Every workspace metric is a ratio of per-record sums, ΣX / ΣY; a composite is a weighted mean of its
oriented components (both defined in `metrics.definitions`). `Measures` names the X and Y of every base
metric as columns of one scan, and turns sums (from DuckDB) back into metric values with numpy, so one
scan serves every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.workspace import MetricSpec, Workspace
from metrics.definitions import base_metrics, composite_parts, composite_value, oriented, record_sql


@dataclass(frozen=True)
class Measures:
    """The base metrics of a workspace with their per-record X/Y SQL, and composites on top."""

    metrics: tuple[MetricSpec, ...]

    @classmethod
    def of(cls, ws: Workspace) -> "Measures":
        return cls(tuple(ws.metrics))

    @property
    def base(self) -> tuple[MetricSpec, ...]:
        return tuple(base_metrics(self.metrics))

    def spec(self, name: str) -> MetricSpec:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def record_columns(self) -> list[str]:
        """``x_<i>`` and ``y_<i>`` per base metric, NULL when the record does not count for it."""
        return [col for i, m in enumerate(self.base)
                for col in (f"{record_sql(m).x} AS x_{i}", f"{record_sql(m).y} AS y_{i}")]

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
        return composite_value(m, self.metrics, lambda component: self.value(frame, component, suffix))

    def weight(self, frame: pd.DataFrame | dict, metric: str, suffix: str = "") -> np.ndarray:
        """How much each row counts for the metric: ΣY (the composite uses its first component's ΣY)."""
        m = self.spec(metric)
        if m.type == "composite":
            return np.max([self.weight(frame, p.name, suffix) for p in composite_parts(m, self.metrics)], axis=0)
        return np.asarray(frame[f"sy_{self._index(metric)}{suffix}"], float)

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
        out = np.zeros(len(frame))
        for p in composite_parts(m, self.metrics):
            t, w = self.record_target(frame, p.name)
            fill = np.nansum(t * w) / max(w.sum(), 1e-12) if np.isfinite(t).any() else 0.0
            out = out + p.weight * oriented(np.where(np.isfinite(t), t, fill), p.spec)
        return out, np.ones(len(frame))

    def sum_names(self, metric: str) -> list[str]:
        """The ``sx_<i>``/``sy_<i>`` columns a metric's value needs."""
        m = self.spec(metric)
        if m.type == "composite":
            return [c for p in composite_parts(m, self.metrics) for c in self.sum_names(p.name)]
        i = self._index(metric)
        return [f"sx_{i}", f"sy_{i}"]

    def _index(self, metric: str) -> int:
        for i, m in enumerate(self.base):
            if m.name == metric:
                return i
        raise KeyError(metric)

