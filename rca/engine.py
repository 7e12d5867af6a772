"""The RCA engine: for each regression, candidate causes → evidence → calibrated ranking → `Incident`.

`explain(ow, regressions)` is the whole stage. For one regression it

1. finds the metric's change point inside the localized scope (timing reference);
2. fits an outcome model on a sample and finds the driver features whose SHAP attribution and own
   distribution moved inside the scope (driver candidates, each localized to a footprint and an onset);
3. collects the change events of the window (roll-out waves grouped into one staggered candidate) and
   lets a change absorb the driver it evidently moved (same footprint, same time) as its mechanism;
4. tests every candidate on timing, scope overlap, stacked difference-in-differences with an event
   study, placebo times and placebo scopes (or, for a change with no untouched comparison, an
   interrupted time series against placebo times), and SHAP;
5. ranks candidates by a calibrated probability and labels each with the hypothesis library.

Scans run in DuckDB (one panel per set of scope dimensions, shared by every test and metric); models
run on samples. Nothing here knows a column name: everything comes from the workspace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from data import units
from data.errors import WorkspaceError
from data.slices import Slice
from data.sources import OpenWorkspace, quote
from detection.types import Regression
from metrics.definitions import scope_predicate
from rca.candidates import DEFAULT_ROLLOUT_SUFFIX, Candidate, event_candidates, feature_footprint, feature_onset
from rca.evidence.did import Cohort, Untestable, did_evidence, event_study_evidence, fit_did
from rca.evidence.refute import (confirmation_evidence, placebo_its_evidence, placebo_scope_evidence,
                                 placebo_time_evidence)
from rca.evidence.scope import panel_overlaps, scope_evidence, traffic_overlaps
from rca.evidence.shap_shift import (Sample, attribution_shift, distribution_shift, draw_sample, fit_attribution,
                                     shap_evidence)
from rca.evidence.timing import Onset, contrast_series, mean_shift, timing_evidence
from rca.hypotheses import HypothesisLibrary, load_hypotheses
from rca.measures import Measures
from rca.panel import (Panel, choose_unit_dims, dimension_cardinality, hours_since_epoch, load_panel)
from rca.ranking import RankingModel, load_ranking_model, score_inputs
from rca.types import (Cause, ConfirmationEvidence, DidCohort, DidDetail, DidEvidence, Evidence, Incident, Mediation, Rejected,
                       ScopeEvidence, ShapEvidence, TimingEvidence, test_of)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RcaOptions:
    """Tuning of the RCA stage; a workspace overrides any of these under ``rca:`` (besides ``hypotheses``)."""

    sample_rows: int = 30_000  # records sampled for the outcome models
    focus_rows: int = 15_000  # extra records sampled inside the regressing scopes
    explain_rows: int = 8_000  # at most this many records per window get SHAP values, per regression
    shap_precision: float = 0.05  # the SHAP sample per window is sized so the leading share's 95% interval is ± this
    boosting_rounds: int = 60
    max_units: int = 2_000  # most values of the panel unit (fixed effect and cluster)
    unit: tuple[str, ...] | None = None  # force the panel unit dimensions
    baseline_days: int = 14  # history before the regression when the detector gives none
    pre_days: int = 7  # DiD periods before a change
    post_days: int = 7  # DiD periods after a change
    placebo_scopes: int = 10
    refute_top: int = 3  # refutations run for this many candidates (best by the evidence before refutation)
    dismiss_unconfirmed: bool = True  # drop a regression that neither stands out from its series nor has a cause
    dismiss_below: float = 0.2  # ... when its best cause is below this confidence
    min_driver_share: float = 0.15  # smallest SHAP share for a driver candidate
    rollout_suffix: str = DEFAULT_ROLLOUT_SUFFIX  # regex removed from event names to group roll-out waves
    max_events: int = 30  # change events tested per regression (the nearest to its change point)
    max_causes: int = 5
    list_bar: float = 0.02  # causes below this confidence are not listed
    confidence_bar: float | None = None  # below this, "inconclusive" (default: the ranking model's bar)
    seed: int = 0

    @classmethod
    def from_workspace(cls, section: dict[str, Any], source: str = "workspace") -> "RcaOptions":
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in section.items():
            if key == "hypotheses":
                continue
            if key not in known:
                raise WorkspaceError(f"{source}: rca.{key}", f"unknown key (allowed: hypotheses, {', '.join(known)})")
            default = getattr(cls, key)
            try:
                if key == "unit":
                    value = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
                elif isinstance(default, bool):
                    value = bool(value)
                elif isinstance(default, int):
                    value = int(value)
                elif isinstance(default, float) or key == "confidence_bar":
                    value = float(value)
                elif isinstance(default, str):
                    value = str(value)
            except (TypeError, ValueError):
                raise WorkspaceError(f"{source}: rca.{key}", f"{value!r} is not a valid value") from None
            if key == "shap_precision" and not 0 < value <= 1:
                raise WorkspaceError(f"{source}: rca.{key}", f"{value!r} must be a share of the change in (0, 1]")
            values[key] = value
        return cls(**values)


@dataclass(eq=False)
class _Context:
    """Everything shared by the regressions of one analysis: windows, caches of panels and samples."""

    ow: OpenWorkspace
    measures: Measures
    library: HypothesisLibrary
    model: RankingModel
    options: RcaOptions
    start: datetime
    end: datetime
    bucket: timedelta
    cardinality: dict[str, int]
    unit_dims: tuple[str, ...]
    focus_sql: str | None
    shared_dims: tuple[str, ...] = ()  # scope dimensions of one panel serving every candidate, when small enough
    panels: dict = field(default_factory=dict)
    series: tuple = ()  # (table, focus -> column suffix) from `_series_table`
    memo: dict = field(default_factory=dict)  # driver onsets and footprints, shared by a scope's regressions
    sample_: Sample | None = None

    @property
    def sample(self) -> Sample:
        if self.sample_ is None:
            o = self.options
            self.sample_ = draw_sample(self.ow, self.measures, self.start, self.end, o.sample_rows, self.focus_sql,
                                       o.focus_rows, cardinality=self.cardinality, seed=o.seed)
        return self.sample_

    def panel(self, dims: tuple[str, ...]) -> Panel:
        if self.shared_dims and set(dims) <= set(self.shared_dims):
            dims = self.shared_dims
        if dims not in self.panels:
            self.panels[dims] = load_panel(self.ow, self.measures, self.unit_dims, dims, self.start, self.end)
        return self.panels[dims]


def localized_slices(reg: Regression, min_share: float = 0.05) -> tuple[Slice, ...]:
    """The regression's localized slices that carry a meaningful part of the change: share at least
    ``min_share`` and at least a tenth of the top slice's, and a localizer score at least a tenth of the
    best (when shares and scores are given); the detector's own slice when nothing was localized."""
    slices = tuple(reg.slices)
    if not slices:
        return (reg.slice,)
    top = max(s.share for s in slices)
    if top > 0:
        slices = tuple(s for s in slices if s.share >= max(min_share, 0.1 * top))
    best = max(s.score for s in slices)
    if best > 0:  # the localizer's own ranking score: keep the slices it ranks near the top
        slices = tuple(s for s in slices if s.score >= 0.1 * best)
    return slices


def _focus(reg: Regression) -> tuple[Slice, ...]:
    slices = localized_slices(reg)
    if any(not s.filters for s in slices):
        return ()
    return tuple(slices)


def _label(scope: tuple[Slice, ...]) -> str:
    return ";".join(s.key for s in scope) if scope else "*"


def _sample_mask(sample: Sample, scope: tuple[Slice, ...]) -> np.ndarray:
    frame = sample.frame
    if not scope:
        return np.ones(len(frame), bool)
    mask = np.zeros(len(frame), bool)
    for s in scope:
        part = np.ones(len(frame), bool)
        for dim, value in s.filters:
            if dim not in frame.columns:
                return np.zeros(len(frame), bool)
            part &= frame[dim].astype(str).to_numpy() == value
        mask |= part
    return mask


def _data_range(ow: OpenWorkspace) -> tuple[datetime, datetime]:
    ts = quote(ow.workspace.records.timestamp)
    lo, hi = ow.engine.row(f"SELECT min({ts}), max({ts}) FROM records")
    return pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()


def _window(reg: Regression, options: RcaOptions, data_start: datetime, bucket: timedelta) -> tuple[datetime, datetime]:
    start = reg.baseline_start or (reg.start - timedelta(days=options.baseline_days))
    start = max(start, data_start, reg.start - timedelta(days=options.baseline_days + 7))
    return start, reg.end + bucket


def _series_table(ctx: _Context, focuses: list[tuple[Slice, ...]]) -> tuple[pd.DataFrame, dict]:
    """Every base metric's sums per bucket inside and outside each focus, from one scan of the window.

    The scan groups by bucket and by the membership flags of every focus (a handful of distinct
    combinations), then each focus's inside/outside sums are added up in pandas — far cheaper than one
    filtered aggregate per focus and metric."""
    ws = ctx.ow.workspace
    ts = quote(ws.records.timestamp)
    grain = "day" if ctx.bucket >= DAY else "hour"
    suffix = {focus: k for k, focus in enumerate(dict.fromkeys(focuses))}
    flags = [f"{scope_predicate(focus)} AS _f{k}" for focus, k in suffix.items()]
    keys = ", ".join(f"_f{k}" for k in suffix.values())
    inner = ", ".join([f"{ts} AS _ts"] + flags + ctx.measures.record_columns())
    grouped = ctx.ow.engine.frame(
        f"SELECT date_trunc('{grain}', _ts) AS t, {keys}, count(*) AS n, {', '.join(ctx.measures.sum_columns())} "
        f"FROM (SELECT {inner} FROM records WHERE {ts} >= ? AND {ts} < ?) GROUP BY ALL",
        [ctx.start, ctx.end])
    sums = ["n"] + [c for c in grouped.columns if c.startswith(("sx_", "sy_"))]
    total = grouped.groupby("t", sort=True)[sums].sum()
    columns = {"t": total.index.to_numpy(), "n_all": total["n"].to_numpy()}
    for k in suffix.values():
        flag = grouped[f"_f{k}"].fillna(False).astype(bool)
        inside = grouped[flag].groupby("t")[sums].sum().reindex(total.index, fill_value=0)
        outside = total - inside
        columns[f"n_in{k}"] = inside["n"].to_numpy()
        for c in sums[1:]:
            columns[f"{c}_in{k}"] = inside[c].to_numpy()
            columns[f"{c}_out{k}"] = outside[c].to_numpy()
    return pd.DataFrame(columns), suffix  # built at once: column-by-column inserts fragment the frame


def _metric_series(ctx: _Context, metric: str, focus: tuple[Slice, ...], start: datetime, end: datetime,
                   control: tuple[Slice, ...] | None = None) -> pd.DataFrame:
    """The metric per bucket inside the focus and outside it (outside ``control`` when given), in
    ``[start, end)``."""
    table, suffix = ctx.series
    k = suffix[focus]
    out = suffix[control] if control is not None else k
    t = pd.to_datetime(table["t"])
    rows = table[(t >= pd.Timestamp(start)) & (t < pd.Timestamp(end))]
    frame = pd.DataFrame({"t": rows["t"].to_numpy(), "n_in": rows[f"n_in{k}"].to_numpy()})
    frame["inside"] = ctx.measures.value(rows, metric, f"_in{k}")
    frame["outside"] = ctx.measures.value(rows, metric, f"_out{out}") if (focus if control is None else control) \
        else np.nan
    frame["w_in"] = ctx.measures.weight(rows, metric, f"_in{k}")
    return frame


def _metric_onset(ctx: _Context, series: pd.DataFrame, focus: tuple[Slice, ...]) -> tuple[Onset | None, np.ndarray]:
    times = pd.DatetimeIndex(series["t"])
    inside = series["inside"].to_numpy(float)
    outside = series["outside"].to_numpy(float) if focus else None
    contrast = contrast_series(inside, outside, times)
    cp = mean_shift(contrast, series["w_in"].to_numpy(float))
    onset = None if cp is None else Onset.from_changepoint(cp, times, ctx.bucket)
    deseasonalized = contrast_series(inside, None, times)
    return onset, deseasonalized


def _timing(ctx: _Context, cand: Candidate, metric: str, onset: Onset | None, start: datetime, end: datetime
            ) -> TimingEvidence:
    """Timing evidence: the regression's onset against the candidate's time. A roll-out in waves is timed
    by its first wave, where that wave went live: the onset of the metric inside the first wave's scope
    against the units the change never reaches (its own profile when the change reaches everything).
    Its later waves add steps elsewhere, so the onset of the whole regressing scope falls mid-ramp."""
    if not cand.staggered:
        return timing_evidence(onset, cand.start, start, end)
    first = cand.cohorts[0].scope
    table, suffix = ctx.series
    if first and first in suffix and cand.scope in suffix:
        wave_onset, _ = _metric_onset(ctx, _metric_series(ctx, metric, first, start, end, control=cand.scope), first)
        if wave_onset is not None:
            ev = timing_evidence(wave_onset, cand.start, start, end)
            return ev.model_copy(update={"detail": ev.detail.model_copy(update=dict(
                waves=len(cand.cohorts), timed_by="first wave", onset_scope=_label(first),
                onset_control="outside " + _label(cand.scope) if cand.scope else "own hour-of-day profile"))})
    ev = timing_evidence(onset, cand.start, start, end)
    return ev.model_copy(update={"detail": ev.detail.model_copy(update=dict(waves=len(cand.cohorts),
                                                                            timed_by="first wave"))})


def _driver_candidates(ctx: _Context, reg: Regression, focus: tuple[Slice, ...], split: datetime, start: datetime,
                       end: datetime) -> tuple[list[Candidate], Any, dict]:
    """Features whose SHAP attribution and own distribution moved inside the focus, localized."""
    if not ctx.ow.workspace.records.features:
        return [], None, {}
    sample = ctx.sample
    att = fit_attribution(sample, ctx.measures, reg.metric, seed=ctx.options.seed, rounds=ctx.options.boosting_rounds)
    if att is None:
        return [], None, {}
    t = sample.times()
    in_focus = _sample_mask(sample, focus)
    before = in_focus & (t >= np.datetime64(start)) & (t < np.datetime64(split))
    after = in_focus & (t >= np.datetime64(split)) & (t < np.datetime64(end))
    shift = attribution_shift(att, before, after, seed=ctx.options.seed, precision=ctx.options.shap_precision,
                              max_rows=ctx.options.explain_rows)
    dists: dict = {}
    out = []
    if shift is None or shift.delta_y == 0:
        return [], (att, shift), dists
    for f in sample.features:
        j = shift.inputs.index(f)
        share = shift.delta_phi[j] / shift.delta_y
        lo, hi = shift.low[j], shift.high[j]
        excludes_zero = (lo > 0) if shift.delta_y > 0 else (hi < 0)
        if share < ctx.options.min_driver_share or not excludes_zero:
            continue
        dist = distribution_shift(sample, f, before, after)
        dists[f] = dist
        if dist is None or not dist.shifted:
            continue
        key = (f, dist.level, focus, start, end)
        if key not in ctx.memo:
            onset = feature_onset(ctx.ow, f, dist.level, focus, start, end)
            footprint = None if onset is None else feature_footprint(ctx.ow, f, dist.level, focus, onset.time)
            ctx.memo[key] = (onset, footprint)
        onset, footprint = ctx.memo[key]
        if onset is None:
            continue
        out.append(Candidate((), f, (Cohort(f"driver:{f}", footprint, onset.time),), dist.level, onset))
    return out, (att, shift), dists


def _overlaps(ctx: _Context, start: datetime, end: datetime, focus: tuple[Slice, ...],
              scopes: dict[str, tuple[Slice, ...]]) -> dict:
    """Traffic overlaps from the shared panel when it has every dimension involved, else by a scan."""
    if ctx.shared_dims:
        found = panel_overlaps(ctx.panel(ctx.shared_dims), start, end, focus, scopes)
        if found is not None:
            return found
    return traffic_overlaps(ctx.ow, start, end, focus, scopes)


def _merge_drivers(ctx: _Context, drivers: list[Candidate], events: list[Candidate], start: datetime,
                   end: datetime) -> tuple[list[Candidate], list[Candidate], dict[str, Mediation]]:
    """A change absorbs the driver it evidently moved: footprint Jaccard >= 0.5 with the change's scope and
    the driver's onset within its change-point interval (two buckets at least) of a cohort's start. Returns
    the updated events, the drivers left on their own, and the match details."""
    matches: dict[str, Mediation] = {}
    left = []
    events = list(events)
    for d in drivers:
        onset = d.feature_onset
        if onset is None or d.feature is None:  # not a shifted driver: nothing to match
            left.append(d)
            continue
        # the change must start when the driver does: within the driver's change-point interval (two buckets
        # at least); a change some hours earlier in the same scope is a coincidence, not the mechanism
        tolerance = max(2 * ctx.bucket, (onset.high - onset.low) / 2 + ctx.bucket)
        near = [i for i, e in enumerate(events)
                if any(abs(c.start - onset.time) <= tolerance for c in e.cohorts)
                and (events[i].feature is None)]
        if not near:
            left.append(d)
            continue
        counts = _overlaps(ctx, start, end, d.scope, {events[i].key: events[i].scope for i in near})
        best, best_j = None, 0.0
        for i in near:
            c = counts[events[i].key]
            in_scope, in_focus, both = c.in_scope, c.in_focus, c.both
            union = in_scope + in_focus - both
            j = both / union if union else 0.0
            if j > best_j:
                best, best_j = i, j
        if best is None or best_j < 0.5:
            left.append(d)
            continue
        e = events[best]
        events[best] = e.with_feature(d.feature, d.level, onset)
        matches[e.key] = Mediation(feature=d.feature, footprint_jaccard=round(best_j, 4), feature_onset=onset.time,
                                   footprint=_label(d.scope))
    return events, left, matches


def _did_design(ctx: _Context, cand: Candidate, panel: Panel) -> tuple[int, int]:
    bucket_h = 24
    first = hours_since_epoch(cand.start)
    last = max(hours_since_epoch(c.start) for c in cand.cohorts)
    t = panel.hours()
    pre = int(min(ctx.options.pre_days, max((first - t.min()) // bucket_h, 0)))
    post = int(min(ctx.options.post_days, max(math.ceil((t.max() + 1 - last) / bucket_h), 0)))
    return max(pre, 0), max(post, 1)


def _causal_evidence(ctx: _Context, cand: Candidate, metric: str, sign: float, series: pd.DataFrame,
                     deseasonalized: np.ndarray) -> tuple[dict[str, Evidence], Any]:
    """DiD and event study (or, for a global change, an interrupted time series against placebo times).
    Returns the evidence and what `_refutations` needs to refute the DiD later (None when untestable)."""
    out: dict[str, Evidence] = {}
    cohorts = list(cand.cohorts)
    if not cand.scope:
        reason = "a global change has no untouched cohort to compare with"
        out["did"] = did_evidence(None, reason, sign, DidDetail(design="none"))
        hours = np.array([hours_since_epoch(t) for t in pd.to_datetime(series["t"])])
        daily = ctx.bucket >= DAY
        out["placebo_its"] = placebo_its_evidence(deseasonalized, hours, hours_since_epoch(cand.start), sign,
                                                  width_h=48 if daily else 6,
                                                  shifts=tuple(range(3, 14)) if daily else tuple(range(2, 10)),
                                                  bucket_h=24 if daily else 1)
        return out, None
    panel = ctx.panel(cand.scope_dims)
    pre, post = _did_design(ctx, cand, panel)
    design = DidDetail(design="stacked DiD over cohorts" if cand.staggered else "DiD",
                       cohorts=tuple(DidCohort(name=c.name, start=c.start, scope=_label(c.scope)) for c in cohorts),
                       controls=("never-treated and not-yet-treated units" if cand.staggered
                                 else "units outside the scope"),
                       unit=tuple(ctx.unit_dims) or ("(all)",), periods_before=pre, periods_after=post,
                       period_hours=24)
    if pre < 1:
        out["did"] = did_evidence(None, "no history before the change", sign, design)
        return out, None
    try:
        fit = fit_did(panel, ctx.measures, metric, cohorts, pre, post)
    except Untestable as err:
        out["did"] = did_evidence(None, str(err), sign, design)
        return out, None
    out["did"] = did_evidence(fit, None, sign, design)
    return out, (panel, fit, pre, post)


def _refutations(ctx: _Context, cand: Candidate, metric: str, sign: float, state: Any) -> dict[str, Evidence]:
    """The event study (parallel pre-trends), placebo times and placebo scopes for a DiD effect in the
    regression's direction."""
    panel, fit, pre, post = state
    if fit.z * sign < 2.0:  # nothing worth refuting
        return {}
    cohorts = list(cand.cohorts)
    try:
        es = fit_did(panel, ctx.measures, metric, cohorts, pre, post, event_study=True)
        study = event_study_evidence(es, None, sign)
    except Untestable as err:
        study = event_study_evidence(None, str(err), sign)
    return {
        "event_study": study,
        "placebo_time": placebo_time_evidence(panel, ctx.measures, metric, cohorts, fit, sign, pre, post, 24),
        "placebo_scope": placebo_scope_evidence(panel, ctx.measures, metric, cohorts, fit, sign, pre, post, 24,
                                                n=ctx.options.placebo_scopes, seed=ctx.options.seed),
    }


def _fmt_delta(ctx: _Context, metric: str, value: float) -> str:
    return units.change(units.style(ctx.ow.workspace, ctx.measures.spec(metric)), value)


def _summary(ctx: _Context, cand: Candidate, metric: str, ev: dict[str, Evidence], confidence: float) -> str:
    parts = []
    if cand.is_change:
        e = cand.events[0]
        what = (f"roll-out {e.name} ({len(cand.cohorts)} waves from {cand.start:%Y-%m-%d %H:%M})" if cand.staggered
                else f"change {e.name} ({e.kind}, {e.ts:%Y-%m-%d %H:%M}, in {units.scope_words(e.scope)})")
        parts.append(what)
    else:
        parts.append(f"driver {cand.feature} shifted in {units.scope_words(cand.scope)} from {cand.start:%Y-%m-%d %H:%M} "
                     f"with no logged change")
    did = test_of(ev, DidEvidence)
    if did is not None and did.detail.testable:
        ci = did.interval
        assert ci is not None  # the branch is taken only for a DiD with an interval
        parts.append(f"DiD {_fmt_delta(ctx, metric, did.effect)} on {metric} vs untouched cohorts "
                     f"[{_fmt_delta(ctx, metric, ci.low)}, {_fmt_delta(ctx, metric, ci.high)}], p={did.p_value:.2g}")
    elif did is not None:
        parts.append(f"no DiD ({did.detail.reason})")
    timing = test_of(ev, TimingEvidence)
    if timing is not None and math.isfinite(timing.effect) and timing.detail.onset_statement:
        parts.append(timing.detail.onset_statement)
    scope = test_of(ev, ScopeEvidence)
    if scope is not None:
        parts.append(f"scope overlap J={scope.effect:.2f}")
    shap = test_of(ev, ShapEvidence)
    if shap is not None and shap.detail.feature and shap.supports:
        parts.append(f"{shap.detail.feature} carries {shap.effect:.0%} of the change (SHAP)")
    refuted = [e.test for e in ev.values() if e.test.startswith("placebo") and e.detail.testable and not e.supports]
    if refuted:
        parts.append("fails " + ", ".join(refuted))
    return f"{'; '.join(parts)} — confidence {confidence:.0%}."


def _control_fdr(evidence: list[dict[str, Evidence]], sign: float, alpha: float = 0.05) -> None:
    """Benjamini–Hochberg over the DiD tests of one regression's candidates: each DiD gets its q-value and
    supports its candidate only when q < ``alpha`` (many candidates are many tests)."""
    from statsmodels.stats.multitest import multipletests

    tested = [(ev, did) for ev in evidence if (did := test_of(ev, DidEvidence)) is not None and did.p_value is not None]
    if not tested:
        return
    q = multipletests([did.p_value for _, did in tested], alpha=alpha, method="fdr_bh")[1]
    for (ev, did), qv in zip(tested, q, strict=True):
        supports = bool(qv < alpha and np.sign(did.effect) == sign)
        fdr = f"Benjamini-Hochberg over {len(tested)} candidates"
        ev["did"] = did.model_copy(update={"supports": supports,
                                           "detail": did.detail.model_copy(update={"q_value": float(qv), "fdr": fdr})})


def _effective_focus(ctx: _Context, reg: Regression, focus: tuple[Slice, ...], min_coverage: float = 0.95
                     ) -> tuple[Slice, ...]:
    """The focus, or everything (``()``) when the localized slices cover nearly all the traffic (e.g. every
    value of one dimension): then the regression is global and is treated as such."""
    if not focus:
        return ()
    table, suffix = ctx.series
    t = pd.to_datetime(table["t"])
    rows = table[(t >= pd.Timestamp(reg.start)) & (t < pd.Timestamp(reg.end))]
    total = float(rows["n_all"].sum())
    for candidate in (focus, _all_localized(reg)):
        if candidate in suffix and total > 0 and float(rows[f"n_in{suffix[candidate]}"].sum()) / total >= min_coverage:
            return ()
    return focus


def _all_localized(reg: Regression) -> tuple[Slice, ...]:
    """Every slice the localizer listed with a positive share (before `localized_slices` keeps the top)."""
    return tuple(s for s in reg.slices if s.share > 0 and s.filters)


def _explain_one(ctx: _Context, reg: Regression) -> Incident:
    focus = _effective_focus(ctx, reg, _focus(reg))
    sign = 1.0 if reg.direction == "up" else -1.0
    start, end = _window(reg, ctx.options, ctx.start, ctx.bucket)
    series = _metric_series(ctx, reg.metric, focus, start, end)
    onset, deseasonalized = _metric_onset(ctx, series, focus)
    split = onset.time if onset is not None else reg.start
    notes = []
    if onset is None:
        notes.append("the regressing series is too short for a change point; the detector's start is used")

    drivers, shap_state, dists = _driver_candidates(ctx, reg, focus, split, start, end)
    att, shift = shap_state if shap_state else (None, None)
    events = event_candidates(ctx.ow.changes, start + DAY, end, ctx.options.rollout_suffix)
    if len(events) > ctx.options.max_events:
        events = sorted(events, key=lambda c: abs((c.start - split).total_seconds()))[: ctx.options.max_events]
        notes.append(f"only the {ctx.options.max_events} changes nearest to the change point were tested")
    events, drivers, matches = _merge_drivers(ctx, drivers, events, split, end)
    candidates = events + drivers

    overlaps = _overlaps(ctx, split, end, focus, {c.key: c.scope for c in candidates})
    window_start, window_end = start, end
    scored = []
    for cand in candidates:
        ev: dict[str, Evidence] = {}
        ev["timing"] = _timing(ctx, cand, reg.metric, onset, window_start, window_end)
        ev["scope"] = scope_evidence(overlaps[cand.key], cand.scope, focus)
        causal, state = _causal_evidence(ctx, cand, reg.metric, sign, series, deseasonalized)
        ev.update(causal)
        if cand.feature is not None:
            shap = shap_evidence(cand.feature, shift, dists.get(cand.feature), _label(focus),
                                 att.r2 if att is not None else None)
            if cand.key in matches:
                shap = shap.model_copy(update={"detail": shap.detail.model_copy(
                    update={"mediates_change": matches[cand.key]})})
            ev["shap"] = shap
        else:
            ev["shap"] = shap_evidence(None, shift, None, _label(focus), None)
        scored.append([0.0, cand, ev, state])
    _control_fdr([item[2] for item in scored], sign)
    for item in scored:
        item[0] = ctx.model.utility(score_inputs(item[2], driver=not item[1].is_change))
    # refute the most credible candidates, then score everything on its full evidence
    scored.sort(key=lambda item: (-item[0], item[1].start, item[1].key))
    final = []
    for rank, (_, cand, ev, state) in enumerate(scored):
        if state is not None and rank < ctx.options.refute_top:
            ev.update(_refutations(ctx, cand, reg.metric, sign, state))
        final.append((cand, ev, score_inputs(ev, driver=not cand.is_change)))
    probabilities = ctx.model.confidences([inputs for _, _, inputs in final])
    ranked = sorted(((p, c, e, x) for p, (c, e, x) in zip(probabilities, final, strict=True)),
                    key=lambda item: (-item[0], item[1].start, item[1].key))

    causes: list[Cause] = []
    rejected: list[Rejected] = []
    for confidence, cand, ev, inputs in ranked:
        if confidence < ctx.options.list_bar or len(causes) >= ctx.options.max_causes:
            rejected.append(_rejected(cand, ev, confidence, ctx.options))
            continue
        event = cand.events[0] if cand.events else None
        hypothesis = ctx.library.label(event.kind if event else None, event.name if event else None, cand.feature,
                                       cand.scope_dims)
        causes.append(Cause(
            hypothesis=hypothesis.id, change_event=event.name if event else None, feature=cand.feature,
            scope=cand.scope, confidence=round(confidence, 4), evidence=ev,
            summary=_summary(ctx, cand, reg.metric, ev, confidence), remediation_tags=hypothesis.remediation,
            events=tuple(dict.fromkeys(e.name for e in cand.events)), onset=cand.start, score_inputs=inputs))
    bar = ctx.options.confidence_bar if ctx.options.confidence_bar is not None else ctx.model.bar
    inconclusive = not causes or causes[0].confidence < bar
    if inconclusive:
        notes.append(f"no candidate reaches the {bar:.0%} confidence bar: inconclusive")
    if not focus and _focus(reg):
        notes.append("the localized slices cover nearly all traffic: the regression is treated as global")
    confirmation = _confirmation(ctx, reg, focus, onset, sign)
    if not confirmation.supports and confirmation.detail.testable:
        notes.append(f"the change does not stand out from the series' ordinary ups and downs "
                     f"(placebo-split p = {confirmation.p_value:.2g})")
    scope = focus
    if not inconclusive:
        explained = _explained_scope(ctx, reg, focus, causes[0], split, end)
        if explained is not None:
            scope = explained
            notes.append(f"scope explained by the cause: {_label(explained)} (localized: {_label(focus)})")
    dismissed = (ctx.options.dismiss_unconfirmed and confirmation.detail.testable
                 and not confirmation.supports and (not causes or causes[0].confidence < ctx.options.dismiss_below))
    return Incident(reg, tuple(causes), inconclusive, onset.time if onset else None, len(candidates), tuple(notes),
                    scope=scope, confirmation=confirmation, dismissed=bool(dismissed), rejected=tuple(rejected))


RULING_TESTS = ("timing", "scope", "did", "placebo_scope", "placebo_time", "placebo_its", "event_study", "shap")


def _rejected(cand: Candidate, ev: dict[str, Evidence], confidence: float, options: RcaOptions) -> Rejected:
    """A candidate not kept, with the first test (in `RULING_TESTS` order) that it failed; when it failed
    none, the confidence bar (or the cap on listed causes) is what left it out."""
    name = cand.events[0].name if cand.events else str(cand.feature)
    kind: Literal["change", "driver"] = "change" if cand.is_change else "driver"
    for test in RULING_TESTS:
        e = ev.get(test)
        # a timing test that could not run (no change point) still rules the candidate out: its timing is not shown
        untestable = not e.detail.testable and test != "timing" if e is not None else True
        if e is None or e.supports or untestable or (test == "shap" and cand.is_change):
            continue
        return Rejected(name, kind, round(confidence, 4), test, e.rule or f"{test} does not support it")
    if confidence >= options.list_bar:
        return Rejected(name, kind, round(confidence, 4), "confidence",
                        f"confidence {confidence:.1%}; only the {options.max_causes} most likely causes are listed")
    return Rejected(name, kind, round(confidence, 4), "confidence",
                    f"no test rules it out, but its calibrated confidence {confidence:.1%} is below the "
                    f"{options.list_bar:.0%} listing bar")


def _confirmation(ctx: _Context, reg: Regression, focus: tuple[Slice, ...], onset: Onset | None,
                  sign: float) -> ConfirmationEvidence:
    """The regression's own change against its series' other ups and downs, over all the data."""
    series = _metric_series(ctx, reg.metric, focus, ctx.start, ctx.end)
    times = pd.DatetimeIndex(series["t"])
    outside = series["outside"].to_numpy(float) if focus else None
    contrast = contrast_series(series["inside"].to_numpy(float), outside, times)
    hours = np.array([hours_since_epoch(t) for t in times.to_pydatetime()])
    when = onset.time if onset is not None else reg.start
    daily = ctx.bucket >= DAY
    return confirmation_evidence(contrast, series["w_in"].to_numpy(float), hours, hours_since_epoch(when), sign,
                                 width_h=24 * 7 if daily else 48, step_h=24 if daily else 6,
                                 bucket_h=24 if daily else 1)


def _explained_scope(ctx: _Context, reg: Regression, focus: tuple[Slice, ...], cause: Cause, split: datetime,
                     end: datetime, max_slices: int = 5) -> tuple[Slice, ...] | None:
    """The regression's scope restated as its confirmed cause's scope, when the localized slices lie inside
    it (≥ 80% of the change), make up a good part of it (≥ 30% of its traffic), its DiD supports it, and it
    is a few slices (a roll-out's per-unit waves are not a better description than the localizer's).
    Each slice's share is its part of the DiD-style change (its before/after change beyond the rest's,
    times its traffic) — None when nothing needs restating."""
    scope_ev, did = test_of(cause.evidence, ScopeEvidence), test_of(cause.evidence, DidEvidence)
    if not cause.scope or did is None or not did.supports or scope_ev is None or len(cause.events) > 1:
        return None
    if len(cause.scope) > max_slices or {s.key for s in cause.scope} == {s.key for s in focus}:
        return None
    if scope_ev.detail.covers_change < 0.8 or scope_ev.detail.regressed_share_of_scope < 0.3:
        return None
    shares = _slice_shares(ctx, reg.metric, cause.scope, split, end)
    return tuple(Slice(s.filters, share=round(w, 4)) for s, w in zip(cause.scope, shares, strict=True))


def _slice_shares(ctx: _Context, metric: str, scope: tuple[Slice, ...], split: datetime, end: datetime) -> list[float]:
    """Each slice's share of a scope's change: (its after − before change beyond the rest's) × its traffic,
    normalized; from the shared panel (traffic shares when the panel lacks the dimensions)."""
    dims = {d for s in scope for d, _ in s.filters}
    panel = ctx.panel(ctx.shared_dims) if ctx.shared_dims and dims <= set(ctx.shared_dims) else None
    if panel is None:
        return [1.0 / len(scope)] * len(scope)
    hours = panel.hours()
    t0, t1 = hours_since_epoch(split), hours_since_epoch(end)
    before = (hours >= t0 - 24 * ctx.options.pre_days) & (hours < t0)
    after = (hours >= t0) & (hours < t1)
    names = list(dict.fromkeys(ctx.measures.sum_names(metric)))
    cols = panel.columns(names)

    def value(mask: np.ndarray) -> tuple[float, float]:
        sums = {n: np.array([cols[n][mask].sum()]) for n in names}
        return float(ctx.measures.value(sums, metric)[0]), float(ctx.measures.weight(sums, metric)[0])

    rest = ~panel.members(scope)
    base = value(rest & after)[0] - value(rest & before)[0]
    raw = []
    for s in scope:
        m = panel.members((s,))
        (post, weight), pre = value(m & after), value(m & before)[0]
        change = (post - pre) - base
        raw.append(abs(change) * weight if np.isfinite(change) else 0.0)
    total = sum(raw)
    return [r / total for r in raw] if total > 0 else [1.0 / len(scope)] * len(scope)


def _shared_panel_dims(ow: OpenWorkspace, unit_dims: tuple[str, ...], scope_dims: tuple[str, ...], start: datetime,
                       end: datetime, bucket: timedelta, max_cells: int = 3_000_000) -> tuple[str, ...]:
    """All scope dimensions at once when (unit × scope values) × hours stays under ``max_cells`` (dimensions
    nested in the unit, like a site's country, cost nothing); else () and one panel per candidate's dims."""
    dims = tuple(d for d in scope_dims if d not in unit_dims)
    if not dims:
        return scope_dims
    ts = quote(ow.workspace.records.timestamp)
    combo = ", ".join(f"CAST({quote(d)} AS VARCHAR)" for d in unit_dims + dims)
    # exact, not approx_count_distinct: the engines' HyperLogLog sketches give different estimates
    groups = ow.engine.row(f"SELECT count(DISTINCT concat_ws('|', {combo})) FROM records "
                           f"WHERE {ts} >= ? AND {ts} < ?", [start, end])[0] or 0
    hours = max((end - start) / HOUR, 1.0)
    return scope_dims if groups * hours <= max_cells else ()


def explain(ow: OpenWorkspace, regressions: list[Regression], options: RcaOptions | None = None,
            library: HypothesisLibrary | None = None, model: RankingModel | None = None) -> list[Incident]:
    """Explain each regression: ranked causes with calibrated confidence and the evidence behind each."""
    ws = ow.workspace
    source = str(ws.source_file)
    options = options or RcaOptions.from_workspace(ws.rca, source)
    library = library or load_hypotheses(ws.rca, source=source)
    model = model or load_ranking_model()
    if not regressions:
        return []
    for reg in regressions:
        ws.metric(reg.metric)  # a KeyError here is a programming error upstream, not user input
    bucket = DAY if ws.records.grain == "day" else HOUR
    data_start, data_end = _data_range(ow)
    windows = [_window(r, options, data_start, bucket) for r in regressions]
    start, end = min(w[0] for w in windows), max(max(w[1] for w in windows), data_end + bucket)
    start = max(start - timedelta(days=options.pre_days), data_start)
    cardinality = dimension_cardinality(ow, start, end)
    unit_dims = options.unit or choose_unit_dims(cardinality, options.max_units)
    focus_sql = " OR ".join(scope_predicate(f) for f in {_focus(r) for r in regressions} if f) or None
    scope_dims = {d for e in ow.changes if start <= e.ts < end for s in e.scope for d, _ in s.filters}
    scope_dims |= {d for r in regressions for s in _focus(r) for d, _ in s.filters}
    shared = _shared_panel_dims(ow, unit_dims, tuple(sorted(scope_dims)), start, end, bucket)
    ctx = _Context(ow, Measures.of(ws), library, model, options, start, end, bucket, cardinality, unit_dims, focus_sql,
                   shared)
    waves = [(c.cohorts[0].scope, c.scope) for c in event_candidates(ow.changes, start, end, options.rollout_suffix)
             if c.staggered]
    ctx.series = _series_table(ctx, [_focus(r) for r in regressions] + [_all_localized(r) for r in regressions] + [()]
                               + [scope for pair in waves for scope in pair])
    return [_explain_one(ctx, reg) for reg in regressions]
