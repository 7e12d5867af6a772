"""Difference-in-differences on a panel: single changes and staggered roll-outs, with an event study.

Design. A change is a set of *cohorts* ``(scope, start)``: one for an ordinary change, several for a
staggered roll-out (a migration moving sites in waves). For each cohort g we build a sub-experiment
over relative periods k = ⌊(t − start_g) / B⌋ in ``[-pre, post)`` (B = one day for hourly data, so every
period holds a full daily cycle): its treated units are the cohort's, its controls are the *clean*
controls — units never treated, or not yet treated before the sub-experiment ends. Sub-experiments are
stacked with their own unit and period fixed effects and estimated jointly:

    y_{g,u,k} = α_{g,u} + λ_{g,k} + δ · D_{g,u,k} + ε,      D = treated × (k ≥ 0),

weighted by the metric's denominator, with standard errors clustered by unit (statsmodels WLS,
``cov_type="cluster"``). Because every comparison is treated-vs-clean-control within a cohort, the
estimate is not contaminated by "forbidden comparisons" of late- against early-treated units that bias
two-way fixed effects under staggered adoption with heterogeneous effects (Goodman-Bacon 2021);
this is the stacked estimator of Cengiz, Dube, Lindner & Zipperer (2019), in the spirit of the
cohort-specific estimators of Callaway & Sant'Anna (2021, J. Econometrics 225(2)) and Sun & Abraham
(2021, J. Econometrics 225(2)) that compare each cohort with never- or not-yet-treated units.

The event study replaces δ·D by one δ_κ per relative period (κ = −1 omitted): the leads test parallel
pre-trends (a joint Wald test), the lags show how the effect builds up.

Unit fixed effects are absorbed by weighted within-unit demeaning (Frisch–Waugh–Lovell), which is exact
for unbalanced panels; the cluster-robust covariance needs no correction for fixed effects nested in
the clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import sparse, stats

from data.slices import Slice
from detection.types import Interval
from rca.measures import Measures
from rca.panel import Panel, hours_since_epoch
from rca.types import DidDetail, DidEvidence, EventPeriod, EventStudyDetail, EventStudyEvidence, verdict


@dataclass(frozen=True)
class Cohort:
    """Units in ``scope`` start being treated at ``start``."""

    name: str
    scope: tuple[Slice, ...]
    start: datetime


@dataclass(frozen=True)
class DidFit:
    """One stacked DiD estimate (and its event study when asked)."""

    effect: float
    se: float
    p_value: float
    treated_units: int
    control_units: int
    clusters: int
    cells: int
    treated_pre_mean: float
    treated_clusters: int = 0
    event_study: tuple[tuple[int, float, float], ...] = ()  # (period, coefficient, se)
    pretrend_p: float | None = None

    @property
    def z(self) -> float:
        return self.effect / self.se if self.se > 0 else 0.0

    @property
    def interval(self) -> Interval:
        return Interval(self.effect - 1.96 * self.se, self.effect + 1.96 * self.se)


class Untestable(Exception):
    """The design has no comparison (no clean controls, or no data before/after)."""


def _layout(panel: Panel, cohorts: list[Cohort], pre: int, post: int, bucket_h: int, end_limit: int | None) -> dict:
    """Which panel rows go to which (g, unit, k) cell — independent of the metric, so cached on the panel."""
    cache_key = ("layout", tuple((tuple(s.key for s in c.scope), c.start) for c in cohorts), pre, post, bucket_h,
                 end_limit)
    if cache_key in panel._cache:
        return panel._cache[cache_key]
    hours = panel.hours()
    cohorts = sorted(cohorts, key=lambda c: c.start)
    member = np.full(len(hours), -1)
    for g, c in enumerate(cohorts):
        member[(member < 0) & panel.members(c.scope)] = g
    starts = np.array([hours_since_epoch(c.start) for c in cohorts])
    units = panel.frame["_unit"].to_numpy()
    unit_id = units * (len(cohorts) + 1) + (member + 1)
    span_units = int(unit_id.max()) + 1 if len(unit_id) else 1
    later = np.where(member >= 0, starts[np.maximum(member, 0)], np.iinfo(np.int64).max)
    span = pre + post
    keys, blocks = [], []
    for g in range(len(cohorts)):
        t0 = starts[g]
        lo, hi = t0 - pre * bucket_h, t0 + post * bucket_h
        if end_limit is not None:
            hi = min(hi, end_limit)
        if hi <= t0:
            continue
        clean = (member == g) | (member < 0) | (later >= hi)
        sel = np.flatnonzero((hours >= lo) & (hours < hi) & clean)
        if not len(sel):
            continue
        k = (hours[sel] - t0) // bucket_h
        keys.append((g * span_units + unit_id[sel]) * span + (k + pre))
        blocks.append(sel)
    if not keys:
        layout = {}
    else:
        rows = np.concatenate(blocks)
        cell_keys, first, inverse = np.unique(np.concatenate(keys), return_index=True, return_inverse=True)
        uid = cell_keys // span  # g * span_units + unit_id: unique per sub-experiment
        g_cell = uid // span_units
        first_rows = rows[first]
        layout = {"rows": rows, "inverse": inverse, "n": len(cell_keys), "k": cell_keys % span - pre, "uid": uid,
                  "g": g_cell, "cluster": units[first_rows], "treated": member[first_rows] == g_cell}
    panel._cache[cache_key] = layout
    return layout


def _stack(panel: Panel, measures: Measures, metric: str, cohorts: list[Cohort], pre: int, post: int,
           bucket_h: int, end_limit: int | None) -> dict[str, np.ndarray]:
    """Cells (g, unit, k) of every cohort's sub-experiment: y, weight, treated, cluster, g, uid, k."""
    layout = _layout(panel, cohorts, pre, post, bucket_h, end_limit)
    if not layout:
        raise Untestable("no records around the change")
    names = list(dict.fromkeys(measures.sum_names(metric)))
    sums = panel.columns(names)
    rows, inverse, n = layout["rows"], layout["inverse"], layout["n"]
    cell = {name: np.bincount(inverse, weights=sums[name][rows], minlength=n) for name in names}
    out = {"y": measures.value(cell, metric), "w": measures.weight(cell, metric),
           **{key: layout[key] for key in ("g", "uid", "k", "cluster", "treated")}}
    ok = np.isfinite(out["y"]) & (out["w"] > 0)
    return {name: values[ok] for name, values in out.items()}


def _demean(matrix: np.ndarray, groups: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Subtract weighted group means column by column (absorbs the group fixed effects)."""
    n_groups = int(groups.max()) + 1
    indicator = sparse.csr_matrix((w, (groups, np.arange(len(groups)))), shape=(n_groups, len(groups)))
    wsum = np.asarray(indicator.sum(axis=1)).ravel()
    wsum[wsum == 0] = 1.0
    means = (indicator @ matrix) / wsum[:, None]
    return matrix - means[groups]


def wls_cluster(y: np.ndarray, X: np.ndarray, w: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares with the CR1 cluster-robust covariance, as statsmodels'
    ``WLS(...).fit(cov_type="cluster")`` computes it (small-sample factor G/(G-1)·(N-1)/(N-K)).

    Solved through the normal equations: the designs here have a few dozen columns, where this is
    exact to rounding and far faster than a QR of the full matrix.
    """
    sw = np.sqrt(w)
    Xw, yw = X * sw[:, None], y * sw
    xtx = Xw.T @ Xw
    bread = np.linalg.pinv(xtx)
    beta = bread @ (Xw.T @ yw)
    resid = yw - Xw @ beta
    _, g = np.unique(clusters, return_inverse=True)
    n_groups = int(g.max()) + 1
    indicator = sparse.csr_matrix((np.ones(len(g)), (g, np.arange(len(g)))), shape=(n_groups, len(g)))
    scores = indicator @ (Xw * resid[:, None])
    meat = scores.T @ scores
    n, k = X.shape
    factor = n_groups / (n_groups - 1) * (n - 1) / (n - k)
    return beta, factor * bread @ meat @ bread


def fit_did(panel: Panel, measures: Measures, metric: str, cohorts: list[Cohort], pre: int, post: int,
            bucket_h: int = 24, end_limit: int | None = None, event_study: bool = False,
            solver: str = "numpy") -> DidFit:
    """The stacked DiD estimate of ``cohorts`` on ``metric`` (raises `Untestable` without a comparison).

    ``solver="statsmodels"`` fits with ``sm.WLS(...).fit(cov_type="cluster")``; the default numpy solver
    computes the same numbers (tested to agree) an order of magnitude faster, so the pipeline fits every
    estimate with it (the refuters refit dozens of times); statsmodels is the reference the tests hold it to.
    """
    cells = _stack(panel, measures, metric, cohorts, pre, post, bucket_h, end_limit)
    if not len(cells["y"]):
        raise Untestable("no records around the change")
    treated = cells["treated"]
    post_ = cells["k"] >= 0
    for label, mask in (("treated units before", treated & ~post_), ("treated units after", treated & post_),
                        ("control units before", ~treated & ~post_), ("control units after", ~treated & post_)):
        if not mask.any():
            raise Untestable(f"no {label} the change")
    g, k = cells["g"], cells["k"]
    k_min = int(k.min())
    period = (g * 10_000 + (k - k_min)).astype(np.int64)
    levels = np.unique(period)
    ref = {gg: gg * 10_000 + (-1 - k_min) for gg in np.unique(g)}
    keep = [lv for lv in levels if lv not in ref.values()]
    time_dummies = (period[:, None] == np.asarray(keep)[None, :]).astype(float)
    if event_study:
        kappas = [kk for kk in range(k_min, int(k.max()) + 1) if kk != -1]
        effects = np.column_stack([(treated & (k == kk)).astype(float) for kk in kappas])
    else:
        kappas = []
        effects = (treated & post_).astype(float)[:, None]
    X = np.column_stack([effects, time_dummies])
    y, w = cells["y"], cells["w"]
    _, groups = np.unique(cells["uid"], return_inverse=True)
    Xd = _demean(X, groups, w)
    yd = _demean(y[:, None], groups, w)[:, 0]
    keep_cols = np.flatnonzero(np.abs(Xd).sum(axis=0) > 1e-12)
    n_eff = effects.shape[1]
    if not all(j in keep_cols for j in range(n_eff)) and not event_study:
        raise Untestable("the change is collinear with the fixed effects")
    clusters = cells["cluster"]
    n_clusters = len(np.unique(clusters))
    if n_clusters < 3:
        raise Untestable("fewer than 3 clusters")
    if solver == "statsmodels":
        model = sm.WLS(yd, Xd[:, keep_cols], weights=w, hasconst=False)
        res = model.fit(method="qr", cov_type="cluster", cov_kwds={"groups": clusters})
        params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    else:
        params, cov = wls_cluster(yd, Xd[:, keep_cols], w, clusters)
    position = {int(j): i for i, j in enumerate(keep_cols)}
    tre_units = len(np.unique(cells["uid"][treated]))
    ctl_units = len(np.unique(cells["uid"][~treated]))
    pre_rows = treated & ~post_
    pre_mean = float(np.average(y[pre_rows], weights=w[pre_rows]))
    common: dict[str, Any] = dict(treated_units=tre_units, control_units=ctl_units, clusters=n_clusters, cells=len(y),
                  treated_pre_mean=pre_mean, treated_clusters=len(np.unique(clusters[treated])))
    if not event_study:
        i = position[0]
        se = float(np.sqrt(max(cov[i, i], 0.0)))
        z = params[i] / se if se > 0 else 0.0
        return DidFit(float(params[i]), se, float(2 * stats.norm.sf(abs(z))), **common)
    coefs = []
    leads = []
    for j, kk in enumerate(kappas):
        if j not in position:
            continue
        i = position[j]
        coefs.append((int(kk), float(params[i]), float(np.sqrt(max(cov[i, i], 0.0)))))
        if kk <= -2:
            leads.append(i)
    pretrend = None
    if leads:
        b = params[leads]
        V = cov[np.ix_(leads, leads)]
        try:
            chi2 = float(b @ np.linalg.pinv(V) @ b)
            pretrend = float(stats.chi2.sf(chi2, len(leads)))
        except np.linalg.LinAlgError:
            pretrend = None
    lags = [c for c in coefs if c[0] >= 0]
    avg = float(np.mean([c[1] for c in lags])) if lags else float("nan")
    return DidFit(avg, float("nan"), float("nan"), event_study=tuple(coefs), pretrend_p=pretrend, **common)


def did_evidence(fit: DidFit | None, reason: str | None, sign: float, design: DidDetail) -> DidEvidence:
    """Evidence from a DiD fit; ``sign`` is +1 when the regression raised the metric, −1 when it lowered it.
    ``design`` says how it was (or would have been) run: the design, its cohorts, controls and periods."""
    if fit is None:
        return DidEvidence(effect=float("nan"), supports=False,
                           detail=design.model_copy(update={"testable": False, "reason": reason}))
    rel = fit.effect / fit.treated_pre_mean if fit.treated_pre_mean else float("nan")
    supports = fit.p_value < 0.05 and np.sign(fit.effect) == sign
    direction = "up" if sign > 0 else "down"
    rule = verdict(f"DiD p = {fit.p_value:.2g} < 0.05 and the effect goes {direction} like the regression "
                   f"(z = {fit.z:.2f})", bool(supports), "the change moved the metric", "no effect shown")
    return DidEvidence(
        effect=float(fit.effect), interval=fit.interval, p_value=float(fit.p_value), supports=bool(supports),
        rule=rule, detail=design.model_copy(update=dict(
            testable=True, z=round(fit.z, 3), z_in_direction=round(fit.z * sign, 3), relative_effect=rel,
            treated_pre_mean=fit.treated_pre_mean, treated_units=fit.treated_units, control_units=fit.control_units,
            clusters=fit.clusters, treated_clusters=fit.treated_clusters, cells=fit.cells,
            standard_errors="cluster-robust by unit (CR1)"
            + ("; few treated clusters: CR1 understates the uncertainty, see the placebo-scope permutation p"
               if fit.treated_clusters < 10 else ""))))


def event_study_evidence(fit: DidFit | None, reason: str | None, sign: float) -> EventStudyEvidence:
    """Leads and lags of the stacked event study; supports the cause when pre-trends are parallel."""
    if fit is None:
        return EventStudyEvidence(effect=float("nan"), supports=False,
                                  detail=EventStudyDetail(testable=False, reason=reason))
    lags = [c for c in fit.event_study if c[0] >= 0]
    leads = [c for c in fit.event_study if c[0] <= -2]
    p = fit.pretrend_p
    # with few treated clusters, or shocks shared by a whole treated group, the Wald test of the leads
    # over-rejects (MacKinnon & Webb 2017): a pre-trend only counts when it is also large next to the effect
    lead_ratio = (max(abs(b) for _, b, _ in leads) / abs(fit.effect)) if leads and fit.effect else 0.0
    violated = p is not None and p < 0.01 and lead_ratio > 0.5
    supports = not violated and bool(lags) and np.sign(fit.effect) == sign
    shown = "n/a" if p is None else f"{p:.2g}"
    rule = (verdict(f"pre-trend p = {shown} < 0.01 and largest lead = {lead_ratio:.2f} × the effect > 0.5",
                    bool(violated), "parallel trends rejected: does not support",
                    "parallel trends not rejected") +
            ("" if violated else f"; lags in the regression's direction? {'yes' if supports else 'no'} → "
                                 f"{'supports' if supports else 'does not support'}"))
    return EventStudyEvidence(
        effect=float(fit.effect), p_value=p, supports=bool(supports), rule=rule, detail=EventStudyDetail(
            periods=tuple(EventPeriod(k=k, effect=b, interval=Interval(b - 1.96 * s, b + 1.96 * s))
                          for k, b, s in fit.event_study),
            pretrend_p=p, largest_lead_to_effect=round(lead_ratio, 4), pretrend_violated=bool(violated),
            treated_clusters=fit.treated_clusters,
            note="k = periods since the change (k = -1 is the reference); leads test parallel trends; a pre-trend "
                 "counts when p < 0.01 and the largest lead exceeds half the average effect"))
