"""Small values that leave the detection stage. `Slice` lives in `data.slices` (used from data onwards)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from data.slices import Slice
from data.wire import Located, Real, SliceKey

__all__ = ["Slice", "Interval", "Regression", "ScanFacts"]


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` at ``level`` (0.95 unless said)."""

    low: Real
    high: Real
    level: float = 0.95

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True)
class ScanFacts:
    """What the scan saw besides the regression's numbers: the metric's good direction and unit, whether the
    regression is still ongoing at the window's end, the strength of the strongest slice, the slices folded
    into it (``members``), where it was first seen and the change point that dated it."""

    good: Literal["up", "down"] | None = None
    unit: str | None = None
    ongoing: bool = False
    log10_p: Real = float("nan")
    strongest_slice: str | None = None
    slice_log10_p: Real = float("nan")
    slice_q_value: Real = float("nan")
    members: int = 0
    member_slices: tuple[str, ...] = ()
    first_slice: str | None = None
    changepoint_start: datetime | None = None


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
    baseline: Real
    current: Real
    change: Real
    change_interval: Interval
    relative_change: Real
    relative_interval: Interval
    p_value: Real
    q_value: Real
    slice: SliceKey
    slices: tuple[Located, ...]
    detectors: tuple[str, ...] = ()
    grain: Literal["hour", "day"] = "hour"
    baseline_start: datetime | None = None
    support: int = 0  # records in the regression window within `slice`
    extra: ScanFacts = field(default_factory=ScanFacts, compare=False, hash=False)
