"""Pattern rates over time: how many signals of each pattern arrive per hour, per merchant.

`pattern_counts` counts the signals of every pattern in hourly buckets with one ``bincount`` (no loop
over signals or patterns); `detection.signal_spikes.pattern_rate_panel` turns the counts into a rate panel
— one slice per pattern — whose denominator is the merchant-hours at risk. Signals are rare events per merchant-hour, so the binomial of
a rate panel is the Poisson approximation the detectors need; the denominator is scaled up (each
merchant-hour split into ``k`` equal parts) when a pattern ever has more signals in an hour than there
are merchants, which leaves the rate per merchant-hour, and its Poisson variance, unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOUR = np.timedelta64(1, "h")


def hour_axis(ts: pd.Series, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> np.ndarray:
    """Hourly bucket starts (UTC, datetime64[ns]) from the hour of ``start`` (default: the first signal) to
    the hour holding ``end`` (default: the last signal)."""
    first = (start if start is not None else ts.min()).tz_convert("UTC").floor("h")
    last = (end if end is not None else ts.max()).tz_convert("UTC")
    count = max(int(np.ceil((last - first) / pd.Timedelta(hours=1))), 1)
    return np.datetime64(first.tz_localize(None).to_datetime64(), "ns") + np.arange(count) * HOUR


def bucket_of(ts: pd.Series, axis: np.ndarray) -> np.ndarray:
    """Bucket index of every timestamp on ``axis`` (may fall outside [0, len(axis)))."""
    values = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    return ((values - axis[0]) // HOUR).astype(np.int64)


def pattern_counts(pattern: np.ndarray, buckets: np.ndarray, n_patterns: int, n_buckets: int) -> np.ndarray:
    """``(patterns, buckets)`` signal counts; signals outside the axis are ignored."""
    inside = (buckets >= 0) & (buckets < n_buckets)
    flat = pattern[inside] * n_buckets + buckets[inside]
    return np.bincount(flat, minlength=n_patterns * n_buckets).reshape(n_patterns, n_buckets).astype(float)
