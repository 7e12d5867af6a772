"""Candidate causes: logged changes (single or staggered roll-outs) and shifted driver features.

Every change near a regression is a candidate. A change logged as several rows under one name is a
roll-out in waves and becomes one staggered candidate with one cohort per wave (its scope, its time);
one-row events that are waves of one roll-out by their names (same kind, the same name once a trailing
wave number is removed, pairwise different scopes) are grouped the same way. Every driver feature whose SHAP attribution and own distribution
moved inside the regressing scope is a candidate too, localized like a change (a footprint and an
onset), so the same causal tests apply to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from data.changes import ChangeEvent, change_waves
from data.slices import Slice
from data.sources import OpenWorkspace, quote
from metrics.definitions import label_sql, scope_predicate
from rca.evidence.did import Cohort
from rca.evidence.timing import Onset, contrast_series, mean_shift

DEFAULT_ROLLOUT_SUFFIX = r"[\W_]*\d+$"


@dataclass(frozen=True)
class Candidate:
    """A possible cause: change events (one, or the waves of a roll-out) and/or a driver feature."""

    events: tuple[ChangeEvent, ...]
    feature: str | None
    cohorts: tuple[Cohort, ...]
    level: str | None = None  # categorical driver: the level whose share moved
    feature_onset: Onset | None = None

    @property
    def key(self) -> str:
        if self.events:
            return self.events[0].name
        return f"driver:{self.feature}"

    @property
    def is_change(self) -> bool:
        return bool(self.events)

    @property
    def start(self) -> datetime:
        return min(c.start for c in self.cohorts)

    @property
    def scope(self) -> tuple[Slice, ...]:
        """The union of the cohorts' scopes; () means everything."""
        if any(not c.scope for c in self.cohorts):
            return ()
        seen: dict[str, Slice] = {}
        for c in self.cohorts:
            for s in c.scope:
                seen.setdefault(s.key, s)
        return tuple(seen.values())

    @property
    def staggered(self) -> bool:
        return len(self.cohorts) > 1

    @property
    def scope_dims(self) -> tuple[str, ...]:
        return tuple(sorted({d for s in self.scope for d, _ in s.filters}))

    def with_feature(self, feature: str, level: str | None, onset: Onset | None) -> "Candidate":
        return Candidate(self.events, feature, self.cohorts, level, onset)


def event_candidates(events: tuple[ChangeEvent, ...], start: datetime, end: datetime,
                     rollout_suffix: str = DEFAULT_ROLLOUT_SUFFIX) -> list[Candidate]:
    """The changes with a wave at ``start <= ts < end``, each with all its waves: a change logged in
    several rows under one name (`data.changes.change_waves`) is one staggered candidate with one cohort
    per wave; one-row changes whose names differ only by a trailing wave number (same kind, pairwise
    different scopes) are grouped the same way."""
    pattern = re.compile(rollout_suffix)
    groups: dict[tuple[str, str], list[tuple[ChangeEvent, ...]]] = {}
    for name, waves in change_waves(events).items():
        if any(start <= w.ts < end for w in waves):
            groups.setdefault((waves[0].kind.lower(), pattern.sub("", name)), []).append(waves)
    out = []
    for members in groups.values():
        singles = sorted((w[0] for w in members if len(w) == 1), key=lambda e: (e.ts, e.name))
        scopes = [frozenset(s.key for s in e.scope) for e in singles]
        disjoint = all(e.scope for e in singles) and all(
            not (a & b) for i, a in enumerate(scopes) for b in scopes[i + 1:])
        if len(members) > 1 and len(singles) == len(members) and disjoint:
            out.append(_change_candidate(tuple(singles)))
        else:
            out += [_change_candidate(waves) for waves in members]
    return sorted(out, key=lambda c: (c.start, c.key))


def _change_candidate(waves: tuple[ChangeEvent, ...]) -> Candidate:
    """A change candidate with one cohort per wave (each wave's scope treated from its own time)."""
    named = len({e.name for e in waves}) < len(waves)
    return Candidate(waves, None, tuple(Cohort(f"{e.name} wave {i}" if named else e.name, e.scope, e.ts)
                                        for i, e in enumerate(waves, start=1)))


def _feature_expr(ow: OpenWorkspace, feature: str, level: str | None) -> str:
    col = quote(feature)
    if level is not None:
        # doubles, not DECIMAL literals: Spark's avg of a DECIMAL is a DECIMAL rounded to a few digits
        return (f"CASE WHEN {col} IS NULL THEN NULL WHEN CAST({col} AS VARCHAR) = '{level.replace(chr(39), chr(39) * 2)}' "
                "THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END")
    return f"CAST({col} AS DOUBLE)"


def feature_onset(ow: OpenWorkspace, feature: str, level: str | None, focus: tuple[Slice, ...], start: datetime,
                  end: datetime) -> Onset | None:
    """When the feature (or the share of ``level``) changed inside ``focus`` relative to outside it."""
    ts = quote(ow.workspace.records.timestamp)
    x = _feature_expr(ow, feature, level)
    s = scope_predicate(focus)
    frame = ow.engine.frame(
        f"SELECT date_trunc('hour', {ts}) AS t, avg({x}) FILTER (WHERE {s}) AS inside, "
        f"avg({x}) FILTER (WHERE NOT ({s})) AS outside, count({x}) FILTER (WHERE {s}) AS n "
        f"FROM records WHERE {ts} >= ? AND {ts} < ? GROUP BY ALL ORDER BY t", [start, end])
    if len(frame) < 12:
        return None
    times = frame["t"]
    import pandas as pd

    times = pd.DatetimeIndex(times)
    outside = frame["outside"].to_numpy(float) if focus else None
    series = contrast_series(frame["inside"].to_numpy(float), outside, times)
    cp = mean_shift(series, frame["n"].to_numpy(float), use_detection=False)  # a driver's step: the scan is enough
    return None if cp is None else Onset.from_changepoint(cp, times, timedelta(hours=1))


def feature_footprint(ow: OpenWorkspace, feature: str, level: str | None, focus: tuple[Slice, ...],
                      onset: datetime, days: int = 7, z_min: float = 3.0, relative: float = 0.5) -> tuple[Slice, ...]:
    """Where the feature shifted at ``onset``: the values of the focus's dimensions whose shift (relative
    to the median value's shift) has the focus's sign, at least ``relative`` × the largest such shift and
    |z| >= ``z_min``. Returns () (everywhere) for a global focus or when no value stands out."""
    dims = sorted({d for s in focus[:1] for d, _ in s.filters})
    if not dims:
        return ()
    ts = quote(ow.workspace.records.timestamp)
    x = _feature_expr(ow, feature, level)
    keys = ", ".join(f"{label_sql(quote(d))} AS {quote(d)}" for d in dims)
    frame = ow.engine.frame(
        f"SELECT {keys}, {ts} >= ? AS post, avg({x}) AS m, var_samp({x}) AS v, count({x}) AS n "
        f"FROM records WHERE {ts} >= ? AND {ts} < ? GROUP BY ALL",
        [onset, onset - timedelta(days=days), onset + timedelta(days=days)])
    if frame.empty:
        return ()
    wide = frame.pivot_table(index=dims, columns="post", values=["m", "v", "n"], aggfunc="first")
    if (False not in wide["m"].columns) or (True not in wide["m"].columns):
        return ()
    wide = wide.dropna()
    if wide.empty:
        return ()
    delta = (wide["m"][True] - wide["m"][False]).to_numpy()
    var = np.maximum(wide["v"][True].fillna(0).to_numpy(), wide["v"][False].fillna(0).to_numpy())
    se = np.sqrt(var / np.maximum(wide["n"][True].to_numpy(), 1) + var / np.maximum(wide["n"][False].to_numpy(), 1))
    weights = (wide["n"][True] + wide["n"][False]).to_numpy()
    order = np.argsort(delta)
    cum = np.cumsum(weights[order]) / weights.sum()
    median = delta[order][np.searchsorted(cum, 0.5)]
    rel = delta - median
    labels = [idx if isinstance(idx, tuple) else (idx,) for idx in wide.index]
    focus_keys = {tuple(v for _, v in s.filters) for s in focus if tuple(d for d, _ in s.filters) == tuple(dims)}
    in_focus = np.array([lab in focus_keys for lab in labels])
    if in_focus.any():
        sign = np.sign(np.average(rel[in_focus], weights=weights[in_focus]))
    else:
        sign = np.sign(rel[np.argmax(np.abs(rel))])
    if sign == 0:
        return ()
    z = rel / np.maximum(se, 1e-9)
    aligned = sign * rel
    top = aligned.max()
    if top <= 0:
        return ()
    keep = (aligned >= relative * top) & (sign * z >= z_min)
    return tuple(Slice(tuple(zip(dims, lab, strict=True))) for lab, k in zip(labels, keep, strict=True) if k)
