"""The ``detection:`` section of a workspace: how sensitive the scan is, validated with a clear error.

```yaml
detection:
  fdr: 0.01                  # Benjamini–Hochberg level over every slice × metric of a scan
  baseline_days: 14          # trailing baseline just before the window
  window: null               # "7d", "48h" or days; null = everything after the first baseline_days
  min_support: 100           # records a slice needs in the baseline and in a regression to count
  min_relative_change: 0.02  # changes smaller than this share of the expected value are not regressions
                             # (a rate's sustained change: this share of its rarer outcome, min(p, 1 - p))
  merge_gap: 6h              # flagged buckets this close merge into one regression
  detectors: [zscore, ewma, cusum]   # also: robust_z
  ewma_lambda: 0.1
  cusum_shifts: [0.04, 0.1, 0.25]    # relative shifts the CUSUM bank is tuned to
  max_slices: 5              # localized slices kept per regression
  localize: true
  metrics:                   # per-metric overrides
    refund_per_order: {min_relative_change: 0.05}
    courier_minutes_per_order: {enabled: false}
```
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.errors import WorkspaceError, validation_problem
from data.workspace import Workspace

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|d|days?|w|weeks?)?\s*$", re.IGNORECASE)
DETECTOR_NAMES = ("zscore", "robust_z", "ewma", "cusum")


def parse_duration(value: str | float | int, default_unit: str = "d") -> timedelta:
    """``"36h"``, ``"7d"``, ``"2w"`` or a bare number in ``default_unit`` → a positive timedelta."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        number, unit = float(value), default_unit
    else:
        match = DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like 36h, 7d or 2w")
        number, unit = float(match.group(1)), (match.group(2) or default_unit)
    if number <= 0:
        raise ValueError(f"{value!r} must be positive")
    hours = {"h": 1, "d": 24, "w": 168}[unit[0].lower()]
    return timedelta(hours=number * hours)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricOverride(_Strict):
    """Per-metric settings that replace the section's defaults."""

    enabled: bool = True
    min_support: Annotated[int, Field(ge=1)] | None = None
    min_relative_change: Annotated[float, Field(ge=0, lt=1)] | None = None


class DetectionConfig(_Strict):
    """Validated ``detection:`` settings (see the module docstring for the meaning of each key)."""

    fdr: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    baseline_days: Annotated[float, Field(gt=0)] = 14.0
    window: str | float | None = None
    min_support: Annotated[int, Field(ge=1)] = 100
    min_relative_change: Annotated[float, Field(ge=0, lt=1)] = 0.02
    merge_gap: str | float = "6h"
    detectors: list[str] = Field(default_factory=lambda: ["zscore", "ewma", "cusum"], min_length=1)
    ewma_lambda: Annotated[float, Field(gt=0, le=1)] = 0.1
    cusum_shifts: list[Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=lambda: [0.04, 0.1, 0.25],
                                                                     min_length=1)
    max_slices: Annotated[int, Field(ge=1, le=50)] = 5
    localize: bool = True
    metrics: dict[str, MetricOverride] = Field(default_factory=dict)

    @field_validator("window")
    @classmethod
    def _window(cls, value):
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("merge_gap")
    @classmethod
    def _gap(cls, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            return value
        parse_duration(value, default_unit="h")
        return value

    @field_validator("detectors")
    @classmethod
    def _detectors(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in DETECTOR_NAMES:
                raise ValueError(f"unknown detector {name!r} (choose from {', '.join(DETECTOR_NAMES)})")
        if len(set(names)) != len(names):
            raise ValueError("a detector is listed twice")
        return names

    @model_validator(mode="after")
    def _shifts_above_tolerance(self) -> "DetectionConfig":
        tolerances = [self.min_relative_change] + [m.min_relative_change for m in self.metrics.values()
                                                   if m.min_relative_change is not None]
        if "cusum" in self.detectors and min(self.cusum_shifts) <= max(tolerances):
            raise ValueError(f"cusum_shifts: every shift must exceed min_relative_change ({max(tolerances)})")
        return self

    @property
    def baseline(self) -> timedelta:
        return timedelta(days=self.baseline_days)

    @property
    def window_length(self) -> timedelta | None:
        return None if self.window is None else parse_duration(self.window)

    @property
    def gap(self) -> timedelta:
        if isinstance(self.merge_gap, (int, float)) and self.merge_gap == 0:
            return timedelta(0)
        return parse_duration(self.merge_gap, default_unit="h")

    def for_metric(self, name: str) -> MetricOverride:
        """The metric's settings with the section's defaults filled in."""
        own = self.metrics.get(name, MetricOverride())
        return MetricOverride(
            enabled=own.enabled,
            min_support=self.min_support if own.min_support is None else own.min_support,
            min_relative_change=(self.min_relative_change if own.min_relative_change is None
                                 else own.min_relative_change),
        )


def detection_config(ws: Workspace, **overrides) -> DetectionConfig:
    """Validate ``ws.detection`` (with ``overrides`` on top); raise `WorkspaceError` naming the key."""
    raw = {**(ws.detection or {}), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        config = DetectionConfig.model_validate(raw)
    except ValidationError as err:
        loc, msg = validation_problem(err, raw)
        raise WorkspaceError(str(ws.source_file), f"detection.{loc}: {msg}" if loc else f"detection: {msg}") from None
    names = {m.name for m in ws.metrics}
    for name in config.metrics:
        if name not in names:
            known = ", ".join(sorted(names))
            raise WorkspaceError(str(ws.source_file),
                                 f"detection.metrics.{name}: not a metric of this workspace ({known})")
    return config
