"""Timing evidence: does the candidate's onset coincide with the regression's change point?

The regression's change point is estimated on the *contrast* series — the metric inside the localized
scope minus the metric outside it, per time bucket — which removes seasonality shared by both (daily
and weekly cycles) so a mean-shift change point is sharp. Without a complement (a global regression)
the series is deseasonalized by hour-of-day means of its first half. The change point comes from
`detection.changepoints` when that is available, else from a weighted single mean-shift (CUSUM-type
argmax of the between-segment sum of squares); its interval is the set of split points whose profile
statistic is within the χ²(1) 95% bound of the best (a likelihood-ratio interval).

Null model for the p-value: the candidate's onset falls uniformly at random in the analysis window, so
P(|onset - change point| <= d) = (2d + 1 bucket) / window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from detection.changepoint import changepoints
from detection.types import Interval
from rca.types import TimeSpan, TimingDetail, TimingEvidence, verdict

CHI2_95 = 3.841


@dataclass(frozen=True)
class ChangePoint:
    """A single mean shift in a series: index of the first post-change point, with a profile interval."""

    index: int
    low: int
    high: int
    before: float
    after: float
    statistic: float  # weighted between-segment sum of squares over the residual variance (≈ χ²(1) under no change)
    split_index: tuple[int, ...] = ()  # series positions of every candidate split ...
    profile: tuple[float, ...] = ()  # ... and the statistic of a change there


def mean_shift(values: np.ndarray, weights: np.ndarray | None = None, min_size: int = 6,
               use_detection: bool = True) -> ChangePoint | None:
    """The best single mean shift of a (weighted) series, or None when the series is too short.

    Scans every split point for the largest weighted between-segment sum of squares; with
    ``use_detection``, the date is then refined to the nearest change point of `detection.changepoints`
    that lies inside the scan's profile interval, when that function exists and finds one.
    """
    y = np.asarray(values, float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)
    ok = np.isfinite(y) & np.isfinite(w) & (w > 0)
    idx = np.flatnonzero(ok)
    if len(idx) < 2 * min_size:
        return None
    y, w = y[idx], w[idx]
    w = w / w.mean()
    cw, cwy = np.cumsum(w), np.cumsum(w * y)
    total_w, total_wy = cw[-1], cwy[-1]
    splits = np.arange(min_size, len(y) - min_size + 1)  # first index of the second segment
    w1, s1 = cw[splits - 1], cwy[splits - 1]
    w2, s2 = total_w - w1, total_wy - s1
    m1, m2 = s1 / w1, s2 / w2
    between = w1 * w2 / total_w * (m1 - m2) ** 2
    best = int(np.argmax(between))
    resid = np.where(np.arange(len(y)) < splits[best], y - m1[best], y - m2[best])
    sigma2 = float(np.sum(w * resid**2) / max(len(y) - 2, 1))
    if sigma2 <= 0:
        sigma2 = 1e-12
    # serially correlated noise (residual seasonality, autocorrelated drivers) makes neighbouring points
    # repeat each other: use the AR(1) long-run variance so the statistic and its interval stay honest
    rho = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if len(resid) > 3 and np.std(resid) > 0 else 0.0
    rho = min(max(rho, 0.0), 0.95)
    sigma2 *= (1 + rho) / (1 - rho)
    stat = between / sigma2
    inside = np.flatnonzero(stat >= stat[best] - CHI2_95)
    if use_detection:
        # date the shift with the detection stage's change points when one falls inside the scan's interval
        # (the nearest to the scan's split); their search runs on a window around it, as its cost grows
        # faster than linearly with the series' length
        centre = int(splits[best])
        lo, hi = max(0, centre - 72), min(len(y), centre + 72)
        try:
            found = [lo + int(c) for c in changepoints(y[lo:hi])]
        except Exception:  # a detector that cannot handle this series: keep the scan's split
            found = []
        allowed = set(int(splits[j]) for j in inside)
        found = [c for c in found if c in allowed]
        if found:
            best = int(np.searchsorted(splits, min(found, key=lambda c: abs(c - centre))))
    return ChangePoint(index=int(idx[splits[best]]), low=int(idx[splits[inside.min()]]),
                       high=int(idx[splits[inside.max()]]), before=float(m1[best]), after=float(m2[best]),
                       statistic=float(stat.max()), split_index=tuple(int(i) for i in idx[splits]),
                       profile=tuple(float(v) for v in stat))


def contrast_series(inside: np.ndarray, outside: np.ndarray | None, times: pd.DatetimeIndex) -> np.ndarray:
    """Inside minus outside per bucket; without an outside, inside minus its hour-of-day profile."""
    if outside is not None and np.isfinite(outside).sum() > len(outside) // 2:
        return inside - outside
    hours = np.asarray(times.hour)
    half = np.arange(len(inside)) < len(inside) // 2
    profile = pd.Series(inside[half]).groupby(hours[half]).mean()
    return inside - profile.reindex(hours).to_numpy()


@dataclass(frozen=True)
class Onset:
    """When the regressing series changed, as a time with an interval."""

    time: datetime
    low: datetime
    high: datetime
    before: float
    after: float
    statistic: float
    bucket: timedelta
    profile_times: tuple[datetime, ...] = ()
    profile: tuple[float, ...] = ()

    @classmethod
    def from_changepoint(cls, cp: ChangePoint, times: pd.DatetimeIndex, bucket: timedelta) -> "Onset":
        t = [pd.Timestamp(times[i]).to_pydatetime() for i in (cp.index, cp.low, cp.high)]
        when = tuple(pd.Timestamp(times[i]).to_pydatetime() for i in cp.split_index)
        return cls(t[0], t[1], t[2], cp.before, cp.after, cp.statistic, bucket, when, cp.profile)

    def misfit(self, when: datetime) -> float | None:
        """Likelihood-ratio statistic against "the change happened at ``when``": the drop of the profile from
        its maximum at the split nearest ``when`` (≈ χ²(1)); None when ``when`` is outside the series."""
        if not self.profile_times or when < self.profile_times[0] - self.bucket or when > self.profile_times[-1] + self.bucket:
            return None
        j = int(np.argmin([abs((t - when).total_seconds()) for t in self.profile_times]))
        return max(self.statistic - self.profile[j], 0.0)


def onset_words(onset: datetime, change: datetime, bucket: timedelta) -> str:
    """The metric's onset stated against the change time: the onset is a time bucket, so a change inside
    that bucket is "in the change's own hour" (or day), never "N h before"; otherwise the whole buckets
    between them, before or after."""
    unit = "hour" if bucket <= timedelta(hours=1) else "day" if bucket == timedelta(days=1) else f"{bucket / timedelta(hours=1):g} h bucket"
    if onset <= change < onset + bucket:
        return f"the metric changed in the change's own {unit} ({onset:%Y-%m-%d %H:%M})"
    gap = abs(change - onset) / timedelta(hours=1)
    hours = "less than 1 h" if gap < 1 else f"{gap:.0f} h"
    when = "before" if change > onset else "after"  # the change comes after (before) the metric's bucket
    return f"the metric changed {hours} {when} the change (change point {onset:%Y-%m-%d %H:%M})"


def timing_evidence(onset: Onset | None, candidate_time: datetime, window_start: datetime,
                    window_end: datetime) -> TimingEvidence:
    """Hours between the candidate's onset and the regression's change point, with a uniform-null p-value,
    and a likelihood-ratio test that the series changed at the candidate's time (``misfit_p``). A roll-out
    in waves is timed by its first wave (see `rca.engine`)."""
    if onset is None:
        return TimingEvidence(effect=float("nan"), supports=False, detail=TimingDetail(
            testable=False, reason="the regressing series is too short for a change point"))
    hour = timedelta(hours=1)
    delta = (candidate_time - onset.time) / hour
    lo, hi = (candidate_time - onset.high) / hour, (candidate_time - onset.low) / hour
    span = max((window_end - window_start) / hour, 1.0)
    bucket_h = onset.bucket / hour
    p = min(1.0, (2 * abs(delta) + bucket_h) / span)
    # the candidate is "on time" when its onset lies inside the change point's interval (one bucket of slack)
    supports = (onset.low - onset.bucket) <= candidate_time <= (onset.high + onset.bucket)
    misfit = onset.misfit(candidate_time)
    misfit_p = None if misfit is None else float(stats.chi2.sf(misfit, 1))
    # the same, scale-free: the share of the change-point statistic lost by dating the change at the
    # candidate's time (0 = as good as the best date, 1 = no change at all there); robust to the
    # overconfidence of the χ² test when the shift varies by time of day
    lost = None if misfit is None or onset.statistic <= 0 else min(misfit / onset.statistic, 1.0)
    # how far outside the change point's interval the candidate lies, in half-widths of that interval
    half = max((onset.high - onset.low) / 2, onset.bucket)
    outside = max(onset.low - candidate_time, candidate_time - onset.high, timedelta(0))
    off_interval = min(outside / half, 10.0)
    rule = verdict(f"the change at {candidate_time:%Y-%m-%d %H:%M} lies in the metric's change-point interval "
                   f"{onset.low:%Y-%m-%d %H:%M} – {onset.high:%Y-%m-%d %H:%M}, give or take one {bucket_h:g} h "
                   "bucket", bool(supports), "on time", "not on time")
    return TimingEvidence(
        effect=round(float(delta), 3), interval=Interval(round(float(lo), 3), round(float(hi), 3)), p_value=p,
        supports=bool(supports), rule=rule, detail=TimingDetail(
            change_point=onset.time, change_point_interval=TimeSpan(low=onset.low, high=onset.high),
            candidate_time=candidate_time, hours_from_change_point=round(float(delta), 2),
            before=onset.before, after=onset.after, shift_statistic=round(onset.statistic, 2),
            window_hours=round(span, 1), misfit_statistic=None if misfit is None else round(misfit, 3),
            misfit_p=misfit_p, share_of_shift_lost=None if lost is None else round(lost, 4),
            half_widths_outside_interval=round(off_interval, 3),
            onset_statement=onset_words(onset.time, candidate_time, onset.bucket)))
