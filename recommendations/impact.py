"""Expected impact of an action on every metric of the workspace, in metric units and per day.

Two estimates per metric, each with a 95 % interval:

(a) **Difference-in-differences** around the change (Angrist & Pischke 2009, ch. 5). Treated = records
    in the action's scope, control = all other records; days are aligned to the change time t0 so the
    day that contains t0 is never split. For each full day we take the gap between the treated and
    the control metric value; DiD = mean gap after t0 − mean gap before t0 (up to 14 days each side).
    Shocks shared by all markets cancel in the gap; the interval is Welch's t on the day-level gaps,
    so day-to-day noise (weather, supply) is counted once per day, not once per order. Undoing the
    change is expected to give back −DiD. When the cause carries its own DiD evidence for the
    incident's metric (``Cause.evidence["did"]``), that estimate is used for that metric. A change
    rolled out in waves is estimated wave by wave against never-treated units and averaged
    (`staggered_did_estimates`, Callaway & Sant'Anna 2021).
(b) **Counterfactual on a fitted outcome model** (`recommendations.counterfactual`): LightGBM or a GLM
    fitted on a sample pulled from DuckDB; the scope's recent records are predicted with the driver
    (or the event's treatment flag) set back to its baseline, and with it as it is; the difference of
    mean predictions is the effect, with bootstrap intervals (Efron & Tibshirani 1993).

The reported change is the DiD when it is available (a design-based estimate that does not depend on
the model's form) and the model's otherwise (no control group, no change time, or a what-if). Both
estimates are kept on every `MetricImpact`. DiD measures everything that moved in the scope at t0,
the model only what moves through the named driver: when they disagree the report says so.

Per-day figures multiply the change by the scope's daily denominator over the evaluation window:
for a rate, orders per day whose outcome flips; for a mean or ratio, metric units per day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from data.slices import Slice
from data.sources import OpenWorkspace
from data.units import style
from data.workspace import MetricSpec, Workspace
from detection.types import Interval
from metrics.definitions import base_metrics, change_weights, scope_predicate
from rca.types import Cause, DidEvidence, test_of
from recommendations.records import WindowStats, all_values, daily_panel
from recommendations.types import DriverChange, Estimate, Impact, MetricImpact

MAX_DID_DAYS = 14
NAN_INTERVAL = Interval(float("nan"), float("nan"))


def did_estimates(ow: OpenWorkspace, scope: tuple[Slice, ...], t0: datetime, end: datetime,
                  start: datetime | None = None, level: float = 0.95,
                  max_days: int = MAX_DID_DAYS) -> dict[str, Estimate]:
    """The change's effect on every metric in ``scope`` (post − pre, treated − control), from daily gaps.

    ``start`` bounds the pre period (default: ``max_days`` before t0); ``end`` bounds the post period.
    Returns {} when the scope is everything (no control group) or fewer than 2 full days lie on
    either side of t0.
    """
    if not scope:
        return {}
    return {name: Estimate("did", fit.effect, fit.interval(level), fit.days, fit.detail)
            for name, fit in _daily_gap_dids(ow, scope, t0, end, start, max_days).items()}


@dataclass(frozen=True)
class _GapDid:
    """A DiD from daily gaps: mean gap after − before, its Welch standard error and degrees of freedom."""

    effect: float
    se: float
    df: float
    days: int
    detail: str
    weight: float = 0.0  # treated records after the change (a wave's weight in an aggregate)

    def interval(self, level: float) -> Interval:
        q = float(student_t.ppf(0.5 + level / 2, self.df))
        return Interval(self.effect - q * self.se, self.effect + q * self.se, level)


def _daily_gap_dids(ow: OpenWorkspace, scope: tuple[Slice, ...], t0: datetime, end: datetime, start: datetime | None,
                    max_days: int, treated: str | None = None, control: str | None = None) -> dict[str, _GapDid]:
    ws = ow.workspace
    start = start if start is not None else t0 - timedelta(days=max_days)
    start = max(start, t0 - timedelta(days=max_days))
    end = min(end, t0 + timedelta(days=max_days))
    panel = daily_panel(ow, scope, t0, start, end, treated=treated, control=control)
    if panel.empty:
        return {}
    values = _daily_values(ws, panel)
    treated_days = values[values["treated"]].drop(columns="treated").set_index("day")
    control_days = values[~values["treated"]].drop(columns="treated").set_index("day")
    days = treated_days.index.intersection(control_days.index)
    gap = treated_days.loc[days] - control_days.loc[days]
    pre, post = gap[gap.index < 0], gap[gap.index >= 0]
    if len(pre) < 2 or len(post) < 2:
        return {}
    weight = float(panel.loc[panel["treated"].astype(bool) & (panel["day"] >= 0), "n"].sum())
    out = {}
    for m in ws.metrics:
        a, b = pre[m.name].dropna().to_numpy(), post[m.name].dropna().to_numpy()
        if len(a) < 2 or len(b) < 2:
            continue
        effect = float(b.mean() - a.mean())
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
        out[m.name] = _GapDid(effect, se, df, len(a) + len(b), f"{len(a)} days before, {len(b)} after", weight)
    return out


def staggered_did_estimates(ow: OpenWorkspace, scope: tuple[Slice, ...],
                            waves: Sequence[tuple[tuple[Slice, ...], datetime]], end: datetime,
                            start: datetime | None = None, level: float = 0.95,
                            max_days: int = MAX_DID_DAYS) -> dict[str, Estimate]:
    """The effect of a change rolled out in ``waves`` (scope, time) on every metric in ``scope``, cohort by
    cohort (Callaway & Sant'Anna 2021, J. Econometrics 225(2), with never-treated controls).

    Each wave's own units — in ``scope`` and its wave's scope, in no earlier wave — are compared with the
    units no wave reaches, days aligned to the wave's own time, by the daily-gap DiD of `did_estimates`
    (pre period from ``start``, at most ``max_days`` each side). The waves' effects are averaged with
    weights proportional to their treated records after their time. The waves share their controls, so
    their errors are correlated; the standard error Σ w_g·se_g is an upper bound whatever that
    correlation (Minkowski), with the smallest of the waves' degrees of freedom. Returns {} when every
    unit is reached by some wave (no never-treated control) or no wave has days on both sides.
    """
    reached = [w for w, _ in waves]
    if any(not w for w in reached):
        return {}
    never = f"NOT {scope_predicate(tuple(s for w in reached for s in w))}"
    fits: list[dict[str, _GapDid]] = []
    for g, (wave, t0) in enumerate(waves):
        earlier = tuple(s for w, _ in waves[:g] for s in w)
        own = f"{scope_predicate(scope)} AND {scope_predicate(wave)}" + (
            f" AND NOT {scope_predicate(earlier)}" if earlier else "")
        fits.append(_daily_gap_dids(ow, scope, t0, end, start, max_days, treated=own, control=never))
    out = {}
    for m in ow.workspace.metrics:
        parts = [f[m.name] for f in fits if m.name in f and f[m.name].weight > 0]
        if not parts:
            continue
        total = sum(p.weight for p in parts)
        effect = sum(p.weight * p.effect for p in parts) / total
        se = sum(p.weight * p.se for p in parts) / total
        fit = _GapDid(effect, se, min(p.df for p in parts), sum(p.days for p in parts),
                      f"{len(parts)} waves, each against units no wave reaches")
        out[m.name] = Estimate("did", effect, fit.interval(level), fit.days, fit.detail)
    return out


def _daily_values(ws: Workspace, panel: pd.DataFrame) -> pd.DataFrame:
    """Metric values per (day, treated) row, composites included."""
    values = {m.name: panel["x_" + m.name] / panel["y_" + m.name].where(panel["y_" + m.name] != 0)
              for m in base_metrics(ws)}
    values = all_values(ws, values)
    out = pd.DataFrame({name: pd.Series(v, dtype=float) for name, v in values.items()})
    out["day"] = panel["day"].astype(int).to_numpy()
    out["treated"] = panel["treated"].astype(bool).to_numpy()
    return out


def evidence_estimate(cause: Cause, metric: str, incident_metric: str) -> Estimate | None:
    """The DiD the RCA stage carried (``evidence["did"]``): the change's effect on the incident's own metric
    (metric units), so only for that metric."""
    ev = test_of(cause.evidence, DidEvidence)
    if ev is None or metric != incident_metric:
        return None
    if ev.interval is None or not math.isfinite(ev.effect):
        return None
    return Estimate("evidence", float(ev.effect), ev.interval, 0, "carried by the cause")


def metric_unit(ws: Workspace, m: MetricSpec) -> tuple[str, str]:
    """(display unit of a change, unit of its per-day total), from `data.units.style`: a rate's change in pp,
    a composite of rates' in points, a mean's or ratio's in its unit or currency."""
    unit = style(ws, m).unit
    if m.type == "rate":
        return unit, "orders/day"
    if m.type == "composite":
        return unit, ""
    return unit, (f"{unit}/day" if unit else "per day")


def build_impact(ws: Workspace, scope: tuple[Slice, ...], scope_stats: WindowStats, all_stats: WindowStats,
                 estimates: dict[str, list[Estimate]], counterfactual: str, window: tuple[datetime, datetime],
                 notes: tuple[str, ...] = (), applied: tuple[DriverChange, ...] = ()) -> Impact:
    """Combine per-metric estimates (best first) into an `Impact` with per-day and overall figures;
    ``applied`` are the driver changes the counterfactual made (none when it switched a change event off)."""
    metrics: list[MetricImpact] = []
    changes: dict[str, float] = {}
    overall: dict[str, float] = {}
    for m in ws.metrics:
        options = [e for e in estimates.get(m.name, []) if e is not None and math.isfinite(e.value)]
        unit, day_unit = metric_unit(ws, m)
        baseline = scope_stats.values.get(m.name, float("nan"))
        if not options:
            metrics.append(MetricImpact(m.name, m.role, m.good, m.type, unit, baseline, float("nan"), NAN_INTERVAL,
                                        "none", float("nan"), NAN_INTERVAL, day_unit, float("nan"), ()))
            continue
        best = options[0]
        changes[m.name] = best.value
        if m.type == "composite":
            per_day, per_day_iv = float("nan"), NAN_INTERVAL
            weights = change_weights(m, ws.metrics)
            overall_change = sum(w * overall.get(c, float("nan")) for c, w in weights.items())
        else:
            den_day = scope_stats.denominator_per_day(m.name)
            per_day = best.value * den_day
            per_day_iv = Interval(best.interval.low * den_day, best.interval.high * den_day, best.interval.level)
            share = (scope_stats.denominator[m.name] / all_stats.denominator[m.name]
                     if all_stats.denominator.get(m.name) else float("nan"))
            overall_change = best.value * share
            overall[m.name] = overall_change
        metrics.append(MetricImpact(m.name, m.role, m.good, m.type, unit, baseline, best.value, best.interval,
                                    best.method, per_day, per_day_iv, day_unit, overall_change, tuple(options)))
    share = scope_stats.records / all_stats.records if all_stats.records else float("nan")
    return Impact(scope, scope_stats.records_per_day, share, window[0], window[1], counterfactual, tuple(metrics),
                  notes, applied)


def agreement_notes(impact: Impact, metrics: list[str]) -> tuple[str, ...]:
    """Say where the DiD and the model disagree (intervals that do not overlap)."""
    notes = []
    for name in metrics:
        try:
            mi = impact.metric(name)
        except KeyError:
            continue
        by = {e.method: e for e in mi.estimates}
        d, mdl = by.get("did") or by.get("evidence"), by.get("model")
        if d is None or mdl is None:
            continue
        if d.interval.high < mdl.interval.low or mdl.interval.high < d.interval.low:
            notes.append(f"{name}: the before/after comparison ({d.value:+.4g}) and the driver model "
                         f"({mdl.value:+.4g}) disagree; something besides the driver may have moved in the scope")
    return tuple(notes)


def finite(x: float) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x)
