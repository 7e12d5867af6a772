"""The scan: from a metric cube to a short list of real regressions, each localized.

`detect(open_workspace, cube)` runs, for every metric of the workspace:

1. **Panels.** The cube is pivoted to dense slice × bucket arrays (`detection.panel`); the window is the
   workspace's ``detection.window`` (default: everything after the first ``baseline_days``) and the
   baseline the ``baseline_days`` just before it. Slices with fewer than ``min_support`` records in the
   baseline or the window are not tested.
2. **Detectors.** One `SeasonalBaseline` is fitted per metric; z-score, EWMA and CUSUM (and optionally the
   robust z) score every slice at once, one-sided in the direction that hurts (the metric's ``good``
   decides: improvements are not incidents), against the null "the change is at most
   ``min_relative_change``". A series' p-value is the smallest of its detectors' times their number.
3. **False discoveries.** Every slice × metric p-value of the scan goes through Benjamini–Hochberg at
   ``fdr`` (`detection.fdr`). In a significant series, the buckets each detector flags at the BH
   threshold — the CUSUM from its estimated start to its peak — merge into runs (gaps up to
   ``merge_gap``); each run with enough records and a large enough relative change is a candidate.
   Once candidates are grouped (4.), the groups go through the same step-up again, each represented by
   its most significant series, so the FDR holds over regressions, not only over series.
4. **One regression per cause and metric.** Candidates of one metric that overlap in time and either
   share records (a parent and the child that explains it) or start within a day of each other
   (disjoint siblings hit by the same cause) form one regression. Its slice is the broadest member
   significant on its own that carries the change undiluted (`_headline`: the region rather than its
   busiest store, two regions hit rather than the whole whose change they dilute);
   its start is the lower decile of those members' starts (a staged rollout shows in its first stores
   days before the region): the CUSUM's estimate of when its excursion began, or — for a run only an
   EWMA or z alarm dated — the nearest change point (`detection.changepoint`) of the regression's slice.
5. **Localization.** Leaves (all dimensions) for each regression window against the baseline, from one
   DuckDB scan of the records (`detection.leaves`), go to `detection.localize.localize_ratio` (rate,
   mean and ratio metrics) or `localize` (composites); the regression keeps the ranked slices with their
   share of the change.

Every regression reports the metric's baseline and current value over its window, the absolute and
relative change with a 95 % interval (delta-method sampling variance + over-dispersion with its
long-run autocorrelation), the p- and q-value, and a stable id (hash of workspace, metric, slice and
start bucket).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from data.atomic import write_atomically
from data.errors import WorkspaceError
from data.parallel import parallel
from data.sources import OpenWorkspace
from data.workspace import BUCKET, Grain, MetricSpec
from detection.config import DetectionConfig, detection_config
from detection.detectors import (CUSUM, EWMA, Detector, Residuals, RobustZScore, SeasonalBaseline, Side, ZScore,
                                 rarer_outcome)
from detection.fdr import benjamini_hochberg
from detection.leaves import Period, composite_leaves, leaf_sums, ratio_leaves
from detection.panel import CubeSource, Panel
from detection.types import Interval, Regression, ScanFacts
from metrics.cube import EngineCube
from metrics.definitions import base_metrics, label_slice

from detection.changepoint import changepoints
from detection.localize import localize, localize_ratio

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ScanResult:
    """A scan's regressions and what it looked at."""

    workspace: str
    grain: str
    baseline: Period
    window: Period
    config: DetectionConfig
    tested: int  # slice × metric series tested
    untested: int  # series below min_support
    threshold: float  # the largest p-value Benjamini–Hochberg rejected (0: none)
    regressions: list[Regression]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "workspace": self.workspace,
            "grain": self.grain,
            "baseline": {"start": self.baseline.start.isoformat(), "end": self.baseline.end.isoformat()},
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "config": self.config.model_dump(mode="json"),
            "tested": self.tested,
            "untested": self.untested,
            "fdr": {"level": self.config.fdr, "p_threshold": self.threshold},
            "regressions": [regression_to_dict(r) for r in self.regressions],
        }


def regression_to_dict(r: Regression) -> dict:
    """A regression as plain JSON values (times in ISO 8601; ``end`` is exclusive; NaN becomes null)."""
    return {
        "id": r.id, "metric": r.metric, "direction": r.direction, "grain": r.grain,
        "start": r.start.isoformat(), "end": r.end.isoformat(),
        "baseline_start": r.baseline_start.isoformat() if r.baseline_start else None,
        "baseline": _num(r.baseline), "current": _num(r.current),
        "change": _num(r.change), "change_interval": _interval(r.change_interval),
        "relative_change": _num(r.relative_change), "relative_interval": _interval(r.relative_interval),
        "p_value": _num(r.p_value), "q_value": _num(r.q_value),
        "slice": r.slice.key, "support": r.support, "detectors": list(r.detectors),
        "slices": [{"slice": s.key, "share": _num(s.share), "score": _num(s.score)} for s in r.slices],
        **{k: _num(v) if isinstance(v, float) else v.isoformat() if isinstance(v, datetime) else
           list(v) if isinstance(v, tuple) else v for k, v in asdict(r.extra).items()},
    }


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _interval(i: Interval) -> dict:
    return {"low": _num(i.low), "high": _num(i.high), "level": i.level}


def detect(open_workspace: OpenWorkspace, cube: pd.DataFrame | str | Path,
           config: DetectionConfig | None = None) -> list[Regression]:
    """The regressions in ``cube`` (a DataFrame or a cube.parquet path) of the opened workspace."""
    return scan(open_workspace, cube, config).regressions


# -- one metric --------------------------------------------------------------------------------------


@dataclass(eq=False)
class _MetricScan:
    spec: MetricSpec
    sign: int  # +1: the bad direction is up; -1: down
    tolerance: float
    min_support: int
    rows: np.ndarray  # tested rows of the panel
    keys: np.ndarray  # their slice keys
    window: Panel  # tested rows, window buckets
    residuals: Residuals
    detectors: list[Detector]
    scores: list
    log_p: np.ndarray  # per tested row
    q: np.ndarray | None = None


def _detectors(config: DetectionConfig, side: Side, tolerance: float, model: SeasonalBaseline) -> list[Detector]:
    make = {
        "zscore": lambda: ZScore(side=side, tolerance=tolerance, model=model, refit=False),
        "robust_z": lambda: RobustZScore(side=side, tolerance=tolerance),
        "ewma": lambda: EWMA(lam=config.ewma_lambda, side=side, tolerance=tolerance, model=model, refit=False),
        "cusum": lambda: CUSUM(shifts=tuple(config.cusum_shifts), side=side, tolerance=tolerance, model=model,
                               refit=False),
    }
    return [make[name]() for name in config.detectors]


def _scan_metric(spec: MetricSpec, cube: CubeSource, base_cols: tuple[int, int], win_cols: tuple[int, int],
                 config: DetectionConfig, timings: dict[str, float], where: str) -> tuple[_MetricScan | None, int]:
    own = config.for_metric(spec.name)
    min_support, tolerance = own.min_support, own.min_relative_change
    assert min_support is not None and tolerance is not None  # for_metric fills in the section's defaults
    clock = time.perf_counter()
    panel, untested = cube.panel(spec.name, spec.type, (base_cols, win_cols), min_support)
    timings["read"] = timings.get("read", 0.0) + time.perf_counter() - clock
    clock = time.perf_counter()
    sign = -1 if spec.good == "up" else 1
    if panel.shape[0] == 0:
        return None, untested
    rows = np.arange(panel.shape[0])
    base, window = panel.columns(*base_cols), panel.columns(*win_cols)
    if base.denominator.sum() <= 0:
        raise WorkspaceError(where, f"metrics.{spec.name}: no record of the baseline period has a value (NULL or "
                                    "a zero denominator in all of them); fix the metric or detection.baseline_days")
    model = SeasonalBaseline().fit(base)
    residuals = model.residuals(window)
    side: Side = "down" if sign < 0 else "up"
    detectors = _detectors(config, side, tolerance, model)
    scores = []
    for det in detectors:
        det.fit(base)
        scores.append(det.score_residuals(residuals) if det.model_ is model else det.score(window))
    log_p = np.minimum(0.0, np.min([s.log_p for s in scores], axis=0) + np.log(len(detectors)))
    timings["score"] = timings.get("score", 0.0) + time.perf_counter() - clock
    return _MetricScan(spec, sign, tolerance, min_support, rows, panel.slices, window,
                       residuals, detectors, scores, log_p), untested


def runs(flags: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs ``(row, start, stop)`` of flagged buckets, bridging at most ``gap`` unflagged ones."""
    S, T = flags.shape
    if S == 0 or T == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    t = np.arange(T)
    last = np.maximum.accumulate(np.where(flags, t, -(10 ** 9)), axis=1)
    following = np.minimum.accumulate(np.where(flags, t, 10 ** 9)[:, ::-1], axis=1)[:, ::-1]
    filled = flags | ((following - last - 1) <= gap)
    step = np.diff(np.pad(filled, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)
    return rows, starts, stops


@dataclass(frozen=True)
class _Stats:
    support: np.ndarray
    current: np.ndarray
    baseline: np.ndarray
    change: np.ndarray
    se: np.ndarray


def _interval_stats(res: Residuals, rows: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> _Stats:
    """Current vs. expected value of each (row, [start, stop)) interval with the change's standard error."""
    sub = np.unique(rows)
    where = np.searchsorted(sub, rows)
    obs = res.observed[sub]
    y = np.where(obs, res.y[sub], 0.0)

    def cum(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((len(sub), 1)), np.cumsum(np.where(obs, values, 0.0), axis=1)], axis=1)

    def total(c: np.ndarray) -> np.ndarray:
        return c[where, stops] - c[where, starts]

    n = total(cum(res.n[sub]))
    ysum = total(cum(y))
    x = total(cum(res.x[sub]))
    ey = total(cum(res.expected[sub] * y))
    var = total(cum(y * y * np.where(obs, res.sampling[sub], 0.0))) + total(cum(y * y * res.extra(1.0)[sub]))
    safe = np.where(ysum > 0, ysum, 1.0)
    current, baseline = x / safe, ey / safe
    return _Stats(n, current, baseline, current - baseline, np.sqrt(np.maximum(var, 0.0)) / safe)


def _candidates(ms: _MetricScan, alpha: float, gap: int) -> pd.DataFrame:
    """Runs of flagged buckets in the metric's significant series, with their statistics."""
    significant = np.flatnonzero(ms.log_p <= np.log(alpha)) if alpha > 0 else np.zeros(0, dtype=np.int64)
    if significant.size == 0:
        return pd.DataFrame()
    level = alpha / len(ms.detectors)
    flags = np.zeros((significant.size, ms.window.shape[1]), dtype=bool)
    by_detector = []
    for det, sc in zip(ms.detectors, ms.scores):
        f = det.flag(sc, level)[significant]
        by_detector.append(f)
        flags |= f
    row, start, stop = runs(flags, gap)
    if row.size == 0:
        return pd.DataFrame()
    stats = _interval_stats(ms.residuals, significant[row], start, stop)
    csum = [np.concatenate([np.zeros((len(f), 1)), np.cumsum(f, axis=1)], axis=1) for f in by_detector]
    hits = np.stack([c[row, stop] - c[row, start] > 0 for c in csum], axis=1)
    frame = pd.DataFrame({
        "row": significant[row], "start": start, "stop": stop, "support": stats.support,
        "current": stats.current, "baseline": stats.baseline, "change": stats.change, "se": stats.se,
        "log_p": ms.log_p[significant[row]],
    })
    frame["slice"] = ms.keys[frame["row"].to_numpy()]
    frame["detectors"] = [tuple(d.name for d, h in zip(ms.detectors, hit) if h) for hit in hits]
    scale = np.abs(frame["baseline"]).where(np.abs(frame["baseline"]) > 1e-12, np.nan)
    frame["relative"] = frame["change"] / scale
    if ms.spec.type == "rate":  # the tolerance of a sustained change: relative to the rarer outcome (`CUSUM`)
        scale = pd.Series(rarer_outcome(frame["baseline"].to_numpy(dtype=float)), index=frame.index)
        scale = scale.where(scale > 1e-12, np.nan)
    bad = ms.sign * frame["change"] / scale >= ms.tolerance
    return frame[(frame["support"] >= ms.min_support) & bad.fillna(False)].reset_index(drop=True)


def _groups(frame: pd.DataFrame, gap: int, same_cause: int, dimensions: list[str]) -> np.ndarray:
    """Connected groups of one metric's candidates: overlapping in time and either sharing records (a
    parent and its child; a region and a category) or starting together (two regions hit at once).

    Two slices cannot share a record when they fix one dimension to different values (``region=east``,
    ``region=west``); such candidates stay apart unless they start within ``same_cause`` buckets.
    """
    k = len(frame)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    start, stop = frame["start"].to_numpy(), frame["stop"].to_numpy()
    overlap = (start[:, None] < stop[None, :] + gap) & (start[None, :] < stop[:, None] + gap)
    together = np.abs(start[:, None] - start[None, :]) <= same_cause
    slices = [label_slice(s, dimensions) for s in frame["slice"]]
    dims = sorted({d for s in slices for d, _ in s.filters})
    disjoint = np.zeros((k, k), dtype=bool)
    for dim in dims:
        values = [dict(s.filters).get(dim) for s in slices]
        codes = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
        code = np.array([codes[v] if v is not None else -1 for v in values])
        disjoint |= (code[:, None] >= 0) & (code[None, :] >= 0) & (code[:, None] != code[None, :])
    _, labels = connected_components(csr_matrix(overlap & (~disjoint | together)), directed=False)
    return labels


def _nearest_changepoint(ms: _MetricScan, row: int, start: int, stop: int, reach: int) -> int | None:
    """The change point nearest ``start`` (within ``reach`` buckets) in a slice's residuals, or None.

    Change points are searched (`detection.changepoint.changepoints`) in the slice's standardized,
    deseasonalized residuals over three ``reach`` either side of ``start``; buckets without records are
    missing values. A CUSUM dates a step by its last zero before the alarm (Page's estimate); on the
    generated CX scenarios (six causes, 100k and 200k orders) that is within 2 hours of the truth in
    the median and this change point within 6, so the scan uses the change point only where no
    CUSUM excursion dates the run (an EWMA or z-score alarm, which lags), and reports it always.
    """
    res = ms.residuals
    lo, hi = max(0, start - 3 * reach), min(ms.window.shape[1], stop, start + 3 * reach)
    obs = res.observed[row, lo:hi]
    if obs.sum() < 10:
        return None
    var = np.where(obs, res.variance(0.0)[row, lo:hi], 1.0)
    z = np.where(obs, ms.sign * (res.value[row, lo:hi] - res.expected[row, lo:hi]) / np.sqrt(var), np.nan)
    near = [lo + b for b in changepoints(z) if abs(lo + b - start) <= reach and lo + b < stop]
    return min(near, key=lambda b: abs(b - start)) if near else None


# -- the scan ------------------------------------------------------------------------------------------


def _timeline(config: DetectionConfig, ts: np.ndarray, grain: str, where: str) -> tuple[int, int, int]:
    """``(baseline_start, window_start, end)`` bucket indices on the cube's axis."""
    step = BUCKET[grain]
    T = len(ts)
    per_day = 24 if grain == "hour" else 1
    B = int(round(config.baseline / step))
    span_days = T / per_day
    if B < 1:
        raise WorkspaceError(where, f"detection.baseline_days: {config.baseline_days} is shorter than one {grain}")
    if config.window_length is None:
        W = T - B
        if W < 1:
            raise WorkspaceError(where, f"detection.baseline_days: {config.baseline_days:g} leaves no window in a "
                                        f"cube of {span_days:g} days; lower it or add data")
    else:
        W = int(round(config.window_length / step))
        if W < 1:
            raise WorkspaceError(where, f"detection.window: {config.window} is shorter than one {grain}")
        if B + W > T:
            raise WorkspaceError(where, f"detection.window + detection.baseline_days need {(B + W) / per_day:g} "
                                        f"days; the cube spans {span_days:g}")
    return T - W - B, T - W, T


def check_span(ow: OpenWorkspace, config: DetectionConfig) -> None:
    """Fail early (before a cube is built) when the records cannot hold the baseline and the window."""
    ws = ow.workspace
    grain = ws.records.grain
    col = '"' + ws.records.timestamp.replace('"', '""') + '"'
    lo, hi = ow.engine.row(f"SELECT date_trunc('{grain}', min({col})), date_trunc('{grain}', max({col})) "
                           "FROM records")
    if lo is None:
        return
    buckets = int((pd.Timestamp(hi) - pd.Timestamp(lo)) / BUCKET[grain]) + 1
    _timeline(config, np.zeros(buckets), grain, str(ws.source_file))


def scan(ow: OpenWorkspace, cube: pd.DataFrame | str | Path | EngineCube, config: DetectionConfig | None = None,
         localize_slices: bool | None = None) -> ScanResult:
    """Run the whole scan (see the module docstring) and return the regressions with the scan's context."""
    ws = ow.workspace
    config = config or detection_config(ws)
    where = str(ws.source_file)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    metrics = [m for m in ws.metrics if config.for_metric(m.name).enabled]
    if not metrics:
        raise WorkspaceError(where, "detection.metrics: every metric is disabled")
    grain = ws.records.grain
    source = CubeSource(cube, grain)
    b0, w0, end = _timeline(config, source.ts, grain, where)
    step = BUCKET[grain]
    ts = [pd.Timestamp(t).to_pydatetime() for t in source.ts]
    bucket_end = ts[-1] + step
    timings["read"] = time.perf_counter() - clock

    # metrics side by side (NumPy over whole panels releases the GIL); each keeps its own timings
    own = [dict[str, float]() for _ in metrics]
    results = parallel(lambda k: _scan_metric(metrics[k], source, (b0, w0), (w0, end), config, own[k], where),
                       range(len(metrics)))
    for part in own:
        for name, seconds in part.items():
            timings[name] = timings.get(name, 0.0) + seconds
    clock = time.perf_counter()
    scans = [s for s, _ in results if s is not None]
    untested = sum(u for _, u in results)
    flat = np.concatenate([np.exp(s.log_p) for s in scans]) if scans else np.zeros(0)
    fdr = benjamini_hochberg(flat, config.fdr)
    offset = 0
    for s in scans:
        s.q = fdr.q_values[offset: offset + len(s.rows)]
        offset += len(s.rows)
    timings["fdr"] = time.perf_counter() - clock

    clock = time.perf_counter()
    gap = int(config.gap / step)
    same_cause = max(int(timedelta(days=1) / step), gap)
    found: list[tuple[_MetricScan, pd.Series, pd.DataFrame]] = []
    for s in scans:
        frame = _candidates(s, fdr.threshold, gap)
        if frame.empty:
            continue
        frame["group"] = _groups(frame, gap, same_cause, ws.records.dimensions)
        frame["depth"] = frame["slice"].map(lambda k: label_slice(k, ws.records.dimensions).depth)
        frame = frame.sort_values(["log_p", "depth", "support"], ascending=[True, True, False], kind="stable")
        for _, members in frame.groupby("group", sort=False):
            found.append((s, members.iloc[0], members))
    confirmed = _cluster_step_up(found, config.fdr, fdr.tests)
    regressions: list[Regression] = []
    strong = np.log(config.fdr / max(fdr.tests, 1))  # discoverable on its own, even as the only regression
    for s, top, members, q in confirmed:
        # The members significant on their own: the broadest that carries the change undiluted is where the
        # regression is seen (a region rather than one of its stores); a cause that spreads (a staged
        # rollout) shows first in a few of them, so the regression starts at their lower decile of starts (the earliest one alone
        # would date it by the noisiest member), dated by change-point detection where available.
        sure = members[(members["log_p"] <= strong) | (members.index == top.name)]
        rep = _headline(sure, top, s.sign)
        starts = np.sort(sure["start"].to_numpy())
        first = sure[sure["start"] == starts[int(0.1 * (len(starts) - 1))]].iloc[0]
        row, stop = int(rep["row"]), max(int(rep["stop"]), int(sure["stop"].max()))
        start = int(first["start"])
        changed = _nearest_changepoint(s, row, start, stop, reach=int(timedelta(days=1) / step))
        if "cusum" not in first["detectors"] and changed is not None:
            start = changed  # an EWMA or z alarm lags the change; the change point dates it
        stats = _interval_stats(s.residuals, np.array([row]), np.array([start]), np.array([stop]))
        reg = _regression(ws.name, s, rep, top, members, start, stop, stats, ts[w0:], step, grain, ts[b0], q,
                          first_slice=str(first["slice"]), dimensions=ws.records.dimensions)
        facts = replace(reg.extra, changepoint_start=None if changed is None
                        else pd.Timestamp(ts[w0 + changed]).to_pydatetime())
        regressions.append(replace(reg, extra=facts))
    timings["regressions"] = time.perf_counter() - clock

    clock = time.perf_counter()
    do_localize = config.localize if localize_slices is None else localize_slices
    if regressions and do_localize:
        regressions = _localize(ow, regressions, Period(ts[b0], ts[w0]), scans, config.max_slices)
    timings["localize"] = time.perf_counter() - clock
    regressions.sort(key=lambda r: (r.q_value, -abs(r.relative_change)))
    return ScanResult(ws.name, grain, Period(ts[b0], ts[w0]), Period(ts[w0], bucket_end), config,
                      int(fdr.tests), int(untested), float(fdr.threshold), regressions, timings)


def _headline(sure: pd.DataFrame, top: pd.Series, sign: int, undiluted: float = 0.5) -> pd.Series:
    """The member a regression is reported on: the broadest of the members significant on their own that
    carries the anomaly undiluted — a relative change at least ``undiluted`` × the largest change any of
    them surely has (the largest lower 95 % bound, so a small noisy slice cannot set the bar; ``top``, the
    most significant, when none qualifies). A parent whose other parts did not move dilutes the change by
    their share of its traffic: two regions hit out of six make the whole a third as bad, and the whole is
    not where the regression is, however significant its diluted change; a region whose stores all moved
    keeps their change and is reported rather than its busiest store."""
    scale = np.abs(sure["baseline"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.nan_to_num(sign * sure["change"].to_numpy(dtype=float) / scale, nan=-np.inf)
        bound = sign * sure["change"].to_numpy(dtype=float) - 1.96 * sure["se"].to_numpy(dtype=float)
        surely = np.nan_to_num(bound / scale, nan=-np.inf)
    carried = sure[intensity >= undiluted * surely.max()]
    if carried.empty:
        return top
    return carried.sort_values(["support", "log_p"], ascending=[False, True], kind="stable").iloc[0]


def _cluster_step_up(found: list, q: float, tests: int) -> list:
    """Benjamini–Hochberg again, over regressions instead of series.

    One real cause makes hundreds of nested slices significant; counted as discoveries they loosen the
    series-level threshold for everything else, so a chance blip in an unrelated slice could become a
    regression of its own. Each regression is represented by its most significant series; the k-th
    smallest of those must satisfy p ≤ k·q/m with m the series tested (cluster-level FDR, in the spirit of
    topological FDR, Chumbley & Friston 2009). Returns ``(scan, representative, members, q-value)``.
    """
    if not found:
        return []
    p = np.array([float(np.exp(rep["log_p"])) for _, rep, _ in found])
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, len(p) + 1)
    passed = np.flatnonzero(p[order] <= ranks * q / tests)
    if passed.size == 0:
        return []
    keep = order[: passed[-1] + 1]
    adjusted = np.minimum(np.minimum.accumulate((p[order] * tests / ranks)[::-1])[::-1], 1.0)
    q_of = dict(zip(order.tolist(), adjusted.tolist()))
    return [(*found[i], q_of[i]) for i in sorted(keep)]


def stable_id(workspace: str, metric: str, slice_key: str, start: datetime) -> str:
    """Hash of workspace, metric, slice and start bucket: the same regression keeps its id across scans."""
    text = "|".join([workspace, metric, slice_key, start.isoformat()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _regression(workspace: str, s: _MetricScan, rep: pd.Series, top: pd.Series, members: pd.DataFrame, start: int,
                stop: int, stats: _Stats, window_ts: list[datetime], step: timedelta, grain: Grain,
                baseline_start: datetime, q_value: float, first_slice: str, dimensions: list[str]) -> Regression:
    """``rep`` is the member whose slice and numbers are reported; ``top`` the most significant member,
    whose p-value is the regression's evidence (its q-value comes from the regression-level step-up)."""
    assert s.q is not None  # set by the scan's false-discovery step before any regression is built
    change, se, base = float(stats.change[0]), float(stats.se[0]), float(stats.baseline[0])
    scale = abs(base) if abs(base) > 1e-12 else float("nan")
    begin = window_ts[start]
    key = str(rep["slice"])
    others = [k for k in members["slice"] if k != key]
    return Regression(
        id=stable_id(workspace, s.spec.name, key, begin),
        metric=s.spec.name,
        direction="up" if change > 0 else "down",
        start=begin,
        end=window_ts[stop - 1] + step,
        baseline=base,
        current=float(stats.current[0]),
        change=change,
        change_interval=Interval(change - Z95 * se, change + Z95 * se),
        relative_change=change / scale,
        relative_interval=Interval((change - Z95 * se) / scale, (change + Z95 * se) / scale),
        p_value=float(np.exp(top["log_p"])),
        q_value=q_value,
        slice=label_slice(key, dimensions),
        slices=(),
        detectors=tuple(rep["detectors"]),
        grain=grain,
        baseline_start=baseline_start,
        support=int(stats.support[0]),
        extra=ScanFacts(
            good=s.spec.good, unit=s.spec.unit, ongoing=bool(stop == len(window_ts)),
            log10_p=float(top["log_p"] / np.log(10)), strongest_slice=str(top["slice"]),
            slice_log10_p=float(rep["log_p"] / np.log(10)), slice_q_value=float(s.q[int(rep["row"])]),
            members=len(members), member_slices=tuple(str(k) for k in others[:20]), first_slice=first_slice,
        ),
    )


def _localize(ow: OpenWorkspace, regressions: list[Regression], baseline: Period, scans: list[_MetricScan],
              max_slices: int) -> list[Regression]:
    """Attach ranked localized slices to every regression (one DuckDB scan for all of them)."""
    ws = ow.workspace
    dims = list(ws.records.dimensions)
    metrics = base_metrics(ws, sorted({r.metric for r in regressions}))
    index = {m.name: i for i, m in enumerate(metrics)}
    periods = [baseline] + [Period(r.start, r.end) for r in regressions]
    sums = leaf_sums(ow, metrics, periods)
    by_metric = {s.spec.name: s for s in scans}
    out = []
    for j, r in enumerate(regressions, start=1):
        spec = ws.metric(r.metric)
        if spec.type == "composite":
            leaves = composite_leaves(sums, dims, ws, spec, index, 0, j)
            found = localize(leaves.additive, dims, real="real", predict="predict")
        else:
            seasonal = _seasonal_factor(by_metric[r.metric], r)
            leaves = ratio_leaves(sums, dims, index[r.metric], 0, j, seasonal, rate=spec.type == "rate")
            found = localize_ratio(leaves.numerator, leaves.denominator, dims)
        slices = tuple(found[:max_slices])
        out.append(Regression(**{**r.__dict__, "slices": slices}))
    return out


def _seasonal_factor(ms: _MetricScan, r: Regression) -> float:
    """The total's expected value over the regression window relative to its baseline level (1 if unknown)."""
    total = np.flatnonzero(ms.keys == "*")
    if total.size == 0:
        return 1.0
    i = total[0]
    res = ms.residuals
    t = pd.DatetimeIndex(ms.window.ts)
    cols = (t >= pd.Timestamp(r.start)) & (t < pd.Timestamp(r.end)) & res.observed[i]
    y = res.y[i, cols]
    level = res.level[i]
    if y.sum() <= 0 or abs(level) < 1e-12:
        return 1.0
    return float((res.expected[i, cols] * y).sum() / y.sum() / level)


def write_regressions(result: ScanResult, out_dir: Path) -> Path:
    """Write ``out_dir/regressions.json`` atomically (a temp file moved into place)."""
    target = out_dir / "regressions.json"
    write_atomically(target, json.dumps(result.to_dict(), indent=2, allow_nan=False, default=_json_default) + "\n")
    return target


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


__all__ = ["ScanResult", "detect", "regression_to_dict", "runs", "scan", "stable_id", "write_regressions"]
