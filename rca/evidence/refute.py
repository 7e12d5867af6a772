"""Refutations: the same DiD at fake times and on fake scopes must find nothing.

In the spirit of DoWhy's refuters (Sharma & Kiciman 2020, "DoWhy: An End-to-End Library for Causal
Inference", arXiv:2011.04216): a causal claim survives only if the estimator, run where the cause was
absent, finds no effect.

- *Placebo times*: the change's scope, with the change moved back into the baseline by whole days (so
  every placebo period holds the same daily cycle), using baseline data only.
- *Placebo scopes*: the change's time, with its scope replaced by untreated cohorts of the same shape
  (the same number of values of the same dimensions, drawn from those the change did not touch).

Both give a permutation-style p-value, ``(1 + #{placebo |z| ≥ real |z|}) / (1 + #placebos)``, and the
refuter passes when the real effect stands out from every placebo (and no placebo is itself
significant in the regression's direction at the 1% level, unless the real effect is at least twice as
large, for placebo times).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import numpy as np

from data.slices import Slice
from detection.types import Interval
from rca.evidence.did import Cohort, DidFit, Untestable, fit_did
from rca.measures import Measures
from rca.panel import Panel, hours_since_epoch
from rca.types import (ConfirmationDetail, ConfirmationEvidence, PlaceboItsDetail, PlaceboItsEvidence,
                       PlaceboScopeDetail, PlaceboScopeEvidence, PlaceboTimeDetail, PlaceboTimeEvidence, verdict)


def _permutation_p(real_z: float, placebo_z: list[float]) -> float:
    return (1 + sum(abs(z) >= abs(real_z) for z in placebo_z)) / (1 + len(placebo_z))


def placebo_time_evidence(panel: Panel, measures: Measures, metric: str, cohorts: list[Cohort], real: DidFit,
                          sign: float, pre: int, post: int, bucket_h: int, shifts: tuple[int, ...] = tuple(range(2, 10))
                          ) -> PlaceboTimeEvidence:
    """The DiD with every cohort moved back by ``shifts`` periods, on data before the real change only."""
    first = min(hours_since_epoch(c.start) for c in cohorts)
    zs, effects, used = [], [], []
    for m in shifts:
        moved = [replace(c, start=c.start - timedelta(hours=m * bucket_h)) for c in cohorts]
        try:
            fit = fit_did(panel, measures, metric, moved, pre=min(pre, 7), post=min(post, m, 3), bucket_h=bucket_h,
                          end_limit=first)
        except Untestable:
            continue
        zs.append(fit.z)
        effects.append(fit.effect)
        used.append(m)
    if len(zs) < 2:
        return PlaceboTimeEvidence(effect=real.z, supports=False, detail=PlaceboTimeDetail(
            testable=False, reason="not enough baseline before the change for placebo times"))
    p = _permutation_p(real.z, zs)
    significant = [z for z in zs if z * sign > 2.576]
    # the real effect must beat every placebo; a significant placebo refutes it unless the real effect
    # dwarfs it (at least twice the largest placebo |z|: day-level noise, not the same effect earlier)
    largest = max(abs(z) for z in zs)
    beats = p <= 1.0 / (1 + len(zs)) + 1e-9
    supports = beats and (not significant or abs(real.z) >= 2 * largest)
    rule = verdict(f"|real z| = {abs(real.z):.2f} above all {len(zs)} placebo-time |z| (largest {largest:.2f}; "
                   f"permutation p = {p:.2g}, the smallest {len(zs)} placebos allow is {1 / (1 + len(zs)):.2g})"
                   + (f" and, with {len(significant)} significant placebo(s), at least twice the largest"
                      if significant else ""), bool(supports),
                   "no effect before the change: not refuted", "an effect as large at dates with no change: refuted")
    return PlaceboTimeEvidence(
        effect=float(real.effect), interval=Interval(float(min(effects)), float(max(effects))), p_value=p,
        supports=bool(supports), rule=rule, detail=PlaceboTimeDetail(
            placebo_periods_back=tuple(used), placebo_z=tuple(round(z, 3) for z in zs),
            placebo_effects=tuple(effects), real_z=round(real.z, 3), largest_placebo_z=round(largest, 3),
            significant_placebos=len(significant), effect_is="the real DiD effect, in the metric's units",
            interval_is="range of the placebo effects, in the metric's units"))


def _scope_key(scope: tuple[Slice, ...]) -> tuple[str, ...] | None:
    """The dimensions a scope is written in, when all its slices use the same ones."""
    keys = {tuple(d for d, _ in s.filters) for s in scope}
    if len(keys) != 1:
        return None
    key = keys.pop()
    return key or None


def placebo_scopes(panel: Panel, cohorts: list[Cohort], n: int, rng: np.random.Generator) -> list[list[Cohort]]:
    """Up to ``n`` fake roll-outs: each cohort's scope swapped for untouched values of the same dimensions."""
    keys = {_scope_key(c.scope) for c in cohorts}
    if len(keys) != 1:
        return []
    dims = keys.pop()
    if dims is None:
        return []
    if any(d not in panel.frame.columns for d in dims):
        return []
    taken = {tuple(v for _, v in s.filters) for c in cohorts for s in c.scope}
    values = panel.frame[list(dims)].drop_duplicates().itertuples(index=False, name=None)
    free = sorted(v for v in values if v not in taken)
    sizes = [len(c.scope) for c in cohorts]
    need = sum(sizes)
    if len(free) < need:
        return []
    draws: list[list[tuple[str, ...]]] = []
    total = len(list(itertools.combinations(range(len(free)), need))) if len(free) <= 12 else None
    if total is not None and total <= n:
        draws = [[free[i] for i in combo] for combo in itertools.combinations(range(len(free)), need)]
    else:
        seen = set()
        for _ in range(n * 5):
            pick = tuple(sorted(rng.choice(len(free), need, replace=False)))
            if pick not in seen:
                seen.add(pick)
                draws.append([free[i] for i in pick])
            if len(draws) >= n:
                break
    fakes = []
    for draw in draws:
        pos, fake = 0, []
        for c, size in zip(cohorts, sizes, strict=True):
            scope = tuple(Slice(tuple(zip(dims, v, strict=True))) for v in draw[pos:pos + size])
            fake.append(replace(c, scope=scope))
            pos += size
        fakes.append(fake)
    return fakes


def placebo_scope_evidence(panel: Panel, measures: Measures, metric: str, cohorts: list[Cohort], real: DidFit,
                           sign: float, pre: int, post: int, bucket_h: int, n: int = 19, seed: int = 0
                           ) -> PlaceboScopeEvidence:
    """The DiD at the real time on untouched cohorts of the same shape; the real one must stand out."""
    fakes = placebo_scopes(panel, cohorts, n, np.random.default_rng(seed))
    zs, effects = [], []
    for fake in fakes:
        try:
            fit = fit_did(panel, measures, metric, fake, pre=pre, post=post, bucket_h=bucket_h)
        except Untestable:
            continue
        zs.append(fit.z)
        effects.append(fit.effect)
    if len(zs) < 2:
        return PlaceboScopeEvidence(effect=real.z, supports=False, detail=PlaceboScopeDetail(
            testable=False, reason="too few untouched cohorts of the same shape"))
    p = _permutation_p(real.z, zs)
    beaten = sum(abs(z) >= abs(real.z) for z in zs)
    supports = beaten == 0
    largest = max(abs(z) for z in zs)
    rule = verdict(f"no placebo scope moves as much as the real one (|real z| = {abs(real.z):.2f}; {beaten} of "
                   f"{len(zs)} placebo |z| as large, largest {largest:.2f}; permutation p = {p:.2g}, the smallest "
                   f"{len(zs)} placebos allow is {1 / (1 + len(zs)):.2g})", bool(supports),
                   "the effect is specific to the change's scope: not refuted",
                   "untouched slices moved as much: refuted")
    return PlaceboScopeEvidence(
        effect=float(real.effect), interval=Interval(float(min(effects)), float(max(effects))), p_value=p,
        supports=bool(supports), rule=rule, detail=PlaceboScopeDetail(
            placebos=len(zs), placebo_z=tuple(round(z, 3) for z in zs), real_z=round(real.z, 3),
            largest_placebo_z=round(largest, 3), placebos_as_large=int(beaten), placebo_effects=tuple(effects),
            effect_is="the real DiD effect, in the metric's units",
            interval_is="range of the placebo effects, in the metric's units"))


def placebo_its_evidence(values: np.ndarray, hours: np.ndarray, t0: int, sign: float, width_h: int = 24,
                         shifts: tuple[int, ...] = tuple(range(2, 10)), bucket_h: int = 1) -> PlaceboItsEvidence:
    """For a change with no untouched comparison (a global change): the jump of the regressing series at
    the change, ``mean(after) − mean(before)`` over ``width_h`` hours each side, against the same jump at
    placebo times whole days earlier (an interrupted time series with a placebo-time null)."""

    def jump(t: int) -> float | None:
        before = values[(hours >= t - width_h) & (hours < t)]
        after = values[(hours >= t) & (hours < t + width_h)]
        before, after = before[np.isfinite(before)], after[np.isfinite(after)]
        need = max(1, width_h // bucket_h // 2)
        if len(before) < need or len(after) < need:
            return None
        return float(after.mean() - before.mean())

    real = jump(t0)
    placebo = [j for m in shifts if (j := jump(t0 - 24 * m)) is not None and t0 - 24 * m + width_h <= t0]
    if real is None or len(placebo) < 3:
        return PlaceboItsEvidence(effect=float("nan"), supports=False, detail=PlaceboItsDetail(
            testable=False, reason="not enough series around the change for placebo times"))
    p = (1 + sum(abs(j) >= abs(real) for j in placebo)) / (1 + len(placebo))
    supports = real * sign > 0 and all(abs(j) < abs(real) for j in placebo)
    rule = verdict(f"the jump at the change is in the regression's direction and larger than all {len(placebo)} "
                   f"placebo-day jumps (permutation p = {p:.2g})", bool(supports),
                   "it stands out from the series' own ups and downs: not refuted", "it does not stand out: refuted")
    return PlaceboItsEvidence(effect=real, interval=Interval(min(placebo), max(placebo)), p_value=p,
                              supports=bool(supports), rule=rule, detail=PlaceboItsDetail(
                                  jump=real, placebo_jumps=tuple(placebo), window_hours=width_h,
                                  interval_is="range of placebo jumps"))


def confirmation_evidence(values: np.ndarray, weights: np.ndarray, hours: np.ndarray, onset_hour: int, sign: float,
                          width_h: int, step_h: int, bucket_h: int = 1) -> ConfirmationEvidence:
    """Is the regression itself real? The jump of its series at the change point, mean over ``width_h`` after
    minus mean over ``width_h`` before, against the same jump at every other split ``step_h`` apart that is
    at least ``width_h`` away from the change point (before or after it). A real step stands out: away from
    it, windows lie on one side and jump by nothing; noise that a detector mistook for a shift does not."""
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    v, w, h = values[ok], weights[ok], hours[ok]
    need = max(2, width_h // bucket_h // 2)

    def jump(t: int) -> float | None:
        a = (h >= t) & (h < t + width_h)
        b = (h >= t - width_h) & (h < t)
        if a.sum() < need or b.sum() < need:
            return None
        return float(np.average(v[a], weights=w[a]) - np.average(v[b], weights=w[b]))

    real = jump(onset_hour)
    if real is None or len(h) == 0:
        return ConfirmationEvidence(effect=float("nan"), supports=False, detail=ConfirmationDetail(
            testable=False, reason="too little series around the change point"))
    splits = np.arange(int(h.min()) + width_h, int(h.max()) - width_h + 1, step_h)
    placebo = [j for t in splits if abs(t - onset_hour) >= width_h and (j := jump(int(t))) is not None]
    if len(placebo) < 5:
        return ConfirmationEvidence(effect=real, supports=False, detail=ConfirmationDetail(
            testable=False, reason="too little series away from the change point"))
    larger = sum(abs(j) >= abs(real) for j in placebo)
    p = (1 + larger) / (1 + len(placebo))
    # a step stands out when at most 3% of the other splits jump as much (none, with few splits)
    confirmed = real * sign > 0 and larger <= int(0.03 * len(placebo))
    rule = verdict(f"the jump at the change point is in the regression's direction and at most "
                   f"{int(0.03 * len(placebo))} of {len(placebo)} other splits (3%) jump as much ({larger} do; "
                   f"p = {p:.2g})", bool(confirmed), "confirmed", "not confirmed")
    return ConfirmationEvidence(effect=real, interval=Interval(min(placebo), max(placebo)), p_value=p,
                                supports=bool(confirmed), rule=rule, detail=ConfirmationDetail(
                                    jump=real, placebo_splits=len(placebo), as_large=int(larger),
                                    window_hours=width_h, interval_is="range of the jumps at the other splits",
                                    note="the regression's own change against the series' ordinary ups and downs"))
