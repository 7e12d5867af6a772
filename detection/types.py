"""Small values that leave the detection stage. `Slice` lives in `data.slices` (used from data onwards)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from data.slices import Slice

__all__ = ["Slice", "Interval", "Regression"]


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` at ``level`` (0.95 unless said)."""

    low: float
    high: float
    level: float = 0.95

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True)
class Regression:
    """A metric that moved the wrong way in a time window, localized to the slices that explain it.

    ``direction`` is in value terms (``down`` = the value fell); whether that is bad follows from the
    metric's ``good``. ``slice`` is where the detector saw it (``*`` for the total); ``slices`` are the
    localized root-cause slices, best first, each with its ``share`` of the change.
    """

    id: str
    metric: str
    direction: Literal["up", "down"]
    start: datetime
    end: datetime
    baseline: float
    current: float
    change: float
    change_interval: Interval
    relative_change: float
    relative_interval: Interval
    p_value: float
    q_value: float
    slice: Slice
    slices: tuple[Slice, ...]
    detectors: tuple[str, ...] = ()
    grain: Literal["hour", "day"] = "hour"
    baseline_start: datetime | None = None
    support: int = 0  # records in the regression window within `slice`
    extra: dict = field(default_factory=dict, compare=False, hash=False)
