"""`recommend`: from an incident's ranked causes to ranked actions with impact, tradeoff and a test plan.

For each of the incident's top causes, the catalogue's matching actions are instantiated in the cause's
scope (or the regression's localized slices inside it), their impact on every metric is estimated by
difference-in-differences and by a counterfactual on a fitted outcome model (`recommendations.impact`),
weighed against efficiency and money costs (`recommendations.tradeoffs`), and ranked by the expected
workspace-wide gain of the incident's metric times the cause's confidence. The top action gets an
experiment plan (`recommendations.experiment`).
"""

from __future__ import annotations

import math
import string
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from data.changes import ChangeEvent, change_waves
from data.errors import UserError
from data.slices import Slice
from data.sources import OpenWorkspace
from rca.types import Cause, Incident
from recommendations import text
from recommendations.counterfactual import (
    DriverChange, Level, Scene, evaluation, feature_level, fit_scene, negate, resolve_restore, scene_estimates,
)
from recommendations.experiment import plan_experiment
from recommendations.nextsteps import next_steps
from recommendations.impact import (agreement_notes, build_impact, did_estimates, evidence_estimate,
                                    staggered_did_estimates)
from recommendations.records import WindowStats, time_range, window_stats, window_stats_many
from recommendations.render import pm_summary
from recommendations.settings import RecommendationSettings, catalogue, load_settings, with_model_overrides
from recommendations.tradeoffs import tradeoff
from recommendations.types import Action, Estimate, Recommendation, RecommendationSet

WINDOW_DAYS = 14  # the evaluation window after the change, and the baseline window before it
LEVER_OPS: dict[str, Literal["set", "scale", "shift"]] = {"set_feature": "set", "scale_feature": "scale",
                                                         "shift_feature": "shift"}


def matching_actions(actions: tuple[Action, ...], cause: Cause) -> list[Action]:
    """Specific actions whose hypotheses or tags match the cause, plus generic ones for a scope mode
    (the cause's scope, or the localized slices) that no specific action covers."""

    def usable(a: Action) -> bool:
        if a.lever == "revert_event":
            return cause.change_event is not None
        if a.lever == "restore_feature":
            return (a.feature or cause.feature) is not None
        return True

    tags = set(cause.remediation_tags)
    specific = [a for a in actions if not a.generic and usable(a)
                and (cause.hypothesis in a.hypotheses or tags & set(a.tags))]
    covered = {a.scope for a in specific}
    generic = [a for a in actions if a.generic and usable(a) and a.scope not in covered
               and ("*" in a.hypotheses or cause.hypothesis in a.hypotheses or tags & set(a.tags))]
    return specific + generic


def localized_scope(incident: Incident, scope: tuple[Slice, ...]) -> tuple[Slice, ...]:
    """The regression's localized slices that lie inside ``scope`` and make it strictly narrower."""
    inside = tuple(s for s in incident.regression.slices
                   if s.filters and (not scope or any(c.contains(s) for c in scope)))
    inside = tuple(Slice(s.filters) for s in dict.fromkeys(inside))
    if not inside or set(x.key for x in inside) == set(x.key for x in scope):
        return ()
    if scope and all(any(s.contains(c) for s in inside) for c in scope):
        return ()  # covers the whole scope: not narrower
    return inside


def fill(template: str, values: dict[str, str | None]) -> str | None:
    """Fill ``{name}`` placeholders; None when one of them has no value."""
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    if any(values.get(n) in (None, "") for n in names):
        return None
    return template.format(**{n: values[n] for n in names})


@dataclass
class _CauseContext:
    cause: Cause
    event: ChangeEvent | None  # the cause's change (its first wave)
    t0: datetime
    scope: tuple[Slice, ...]
    window: tuple[datetime, datetime]
    baseline_window: tuple[datetime, datetime]
    waves: tuple[tuple[tuple[Slice, ...], datetime], ...] = ()  # (scope, time) of each wave of a staggered change


def _context(ow: OpenWorkspace, incident: Incident, cause: Cause) -> _CauseContext:
    waves = change_waves(ow.changes).get(cause.change_event, ()) if cause.change_event else ()
    event = waves[0] if waves else None
    reg = incident.regression
    t0 = event.ts if event is not None else reg.start
    scope = cause.scope or (() if any(w.is_global for w in waves) else tuple(s for w in waves for s in w.scope))
    lo, hi = time_range(ow)
    end = hi + timedelta(seconds=1)
    start = max(t0, end - timedelta(days=WINDOW_DAYS))
    base_start = reg.baseline_start if reg.baseline_start is not None and reg.baseline_start < t0 else \
        t0 - timedelta(days=WINDOW_DAYS)
    return _CauseContext(cause, event, t0, tuple(scope), (start, end), (max(base_start, lo), t0),
                         tuple((w.scope, w.ts) for w in waves) if len(waves) > 1 else ())


@dataclass
class _Candidate:
    """An action instantiated for a cause, before its impact is estimated."""

    ctx: _CauseContext
    action: Action
    scope: tuple[Slice, ...]
    changes: list[DriverChange]
    treatment: tuple | None  # ((scope, t0), ...) of an event (each of its waves) whose treatment flag is switched off
    values: dict[str, str | None]
    counterfactual: str


def _candidate(ow: OpenWorkspace, ctx: _CauseContext, action: Action, scope: tuple[Slice, ...]) -> _Candidate:
    """The driver changes (or treatment switch) an action stands for, and its template values."""
    cause = ctx.cause
    feature = action.feature or cause.feature
    if feature is not None and feature not in ow.workspace.records.features:
        feature = None
    values: dict[str, str | None] = {"event": cause.change_event, "feature": feature,
                                     "scope": text.scope_words(scope), "value": None,
                                     "baseline": None, "current": None}
    changes: list[DriverChange] = []
    treatment = None
    if feature is not None:
        base: Level = feature_level(ow, feature, ctx.scope, *ctx.baseline_window)
        now: Level = feature_level(ow, feature, ctx.scope, *ctx.window)
        values["baseline"], values["current"] = base.text(), now.text()
    if action.lever in ("revert_event", "restore_feature"):
        if feature is not None:
            changes.append(resolve_restore(feature, base, now))
        elif action.lever == "revert_event" and cause.change_event is not None:
            treatment = ctx.waves or ((ctx.scope, ctx.t0),)
    elif action.lever in ("set_feature", "scale_feature", "shift_feature"):
        assert action.feature is not None  # the catalogue's validation requires one for these levers
        op = LEVER_OPS[action.lever]
        changes.append(DriverChange(action.feature, op, action.value))
        values["value"] = str(action.value)
    described = ", ".join(c.describe() for c in changes)
    if treatment is not None:
        described = f"{cause.change_event} switched off"
    return _Candidate(ctx, action, scope, changes, treatment, values, described or "not modelled")


def recommend(ow: OpenWorkspace, incident: Incident, *, settings: RecommendationSettings | None = None,
              incident_id: str | None = None, model: str | None = None, bootstrap: int | None = None,
              sample: int | None = None, seed: int | None = None, plan: bool = True) -> RecommendationSet:
    """Ranked recommendations for an incident, each with impact on every metric and a tradeoff, plus an
    experiment plan for the top one. ``model``/``bootstrap``/``sample``/``seed`` override the workspace's
    ``recommendations.model`` settings; ``plan=False`` skips the experiment plan. For many incidents
    of one workspace use `Recommender`, which shares the outcome model and the impact estimates."""
    return Recommender(ow, settings, model=model, bootstrap=bootstrap, sample=sample, seed=seed).recommend(
        incident, incident_id=incident_id, plan=plan)


def conclusive(incident: Incident) -> bool:
    return not incident.inconclusive and bool(incident.causes)


class Recommender:
    """Recommendations for the incidents of one workspace, sharing what is expensive.

    `prepare(incidents)` fits one outcome model for the scopes and change events of every conclusive
    incident's candidate actions (a second one only when an event's treatment flag would hide a
    driver another action changes); `recommend(incident)` then ranks that incident's own actions
    against its own metric. Impact estimates — DiD panels, counterfactual predictions, window sums —
    depend on the action, its scope and its windows, not on the incident, so incidents that share a
    cause reuse them; only the ranking, the tradeoff, the RCA's own evidence and the plan are
    per incident. Without `prepare`, each incident fits what it needs on first use.
    """

    def __init__(self, ow: OpenWorkspace, settings: RecommendationSettings | None = None, *,
                 model: str | None = None, bootstrap: int | None = None, sample: int | None = None,
                 seed: int | None = None):
        self.ow = ow
        settings = settings or load_settings(ow.workspace)
        self.settings = with_model_overrides(settings, kind=model, bootstrap=bootstrap, sample=sample, seed=seed)
        self.actions = catalogue(ow.workspace, self.settings)
        self.scenes_: list[Scene] = []
        self._estimated: dict[tuple, tuple] = {}
        self._stats: dict[tuple, WindowStats] = {}
        self._frames: dict[tuple, tuple[Any, dict]] = {}
        self._instantiated: dict[tuple, list[_Candidate]] = {}

    def prepare(self, incidents: list[Incident]) -> "Recommender":
        """Fit the outcome model(s) once for the candidate actions of all conclusive ``incidents``."""
        candidates = [c for inc in incidents if conclusive(inc) for c in self._candidates(inc)]
        self._fit_for(candidates)
        keys = [(scope, *c.ctx.window) for c in candidates for scope in (c.scope, ())]
        missing = [k for k in dict.fromkeys(keys) if (k[0], k[1:]) not in self._stats]
        for (scope, start, end), stats in window_stats_many(self.ow, missing).items():  # one scan for all
            self._stats[(scope, (start, end))] = stats
        return self

    def recommend(self, incident: Incident, incident_id: str | None = None, plan: bool = True) -> RecommendationSet:
        """Ranked recommendations and a plan for a conclusive incident; next steps for an inconclusive one."""
        started = time.perf_counter()
        ws = self.ow.workspace
        reg = incident.regression
        incident_id = incident_id or reg.id
        primary = reg.metric if any(m.name == reg.metric for m in ws.metrics) else ws.metrics[0].name
        if not conclusive(incident):
            summary, table = pm_summary(ws, incident, (), None, self.settings.currency)
            return RecommendationSet(incident_id, primary, (), None, summary, table,
                                     ("the cause is inconclusive: no action is recommended before the cause is found",),
                                     next_steps=next_steps(incident),
                                     seconds=round(time.perf_counter() - started, 3))
        candidates = self._candidates(incident)
        self._fit_for(candidates)
        recs = [self._recommendation(incident, c, primary) for c in candidates]
        recs = _rank(recs)[: self.settings.max_actions]
        experiment = None
        if plan and recs and recs[0].tradeoff.verdict != "not_estimated":
            top = recs[0]
            window = top.impact.window_start, top.impact.window_end
            stats = (self._window_stats(top.scope, (window[0], window[1]))
                     if window[0] is not None and window[1] is not None else None)
            experiment = plan_experiment(self.ow, incident, top, self.settings.experiment, incident_id, stats=stats)
        summary, table = pm_summary(ws, incident, tuple(recs), experiment, self.settings.currency)
        return RecommendationSet(incident_id, primary, tuple(recs), experiment, summary, table, (),
                                 seconds=round(time.perf_counter() - started, 3))

    # -- candidates and the outcome models behind them ----------------------------------------------

    def _candidates(self, incident: Incident) -> list[_Candidate]:
        """The incident's actions instantiated for its top causes (kept: `prepare` and `recommend` ask twice)."""
        key = (incident.regression.id, tuple((c.hypothesis, c.change_event, c.feature, c.scope, c.confidence)
                                             for c in incident.causes))
        if key not in self._instantiated:
            self._instantiated[key] = self._instantiate(incident)
        return self._instantiated[key]

    def _instantiate(self, incident: Incident) -> list[_Candidate]:
        out = []
        for cause in sorted(incident.causes, key=lambda c: -c.confidence)[: self.settings.max_causes]:
            ctx = _context(self.ow, incident, cause)
            for action in matching_actions(self.actions, cause):
                scope = ctx.scope if action.scope == "cause" else localized_scope(incident, ctx.scope)
                if action.scope == "localized" and not scope:
                    continue
                out.append(_candidate(self.ow, ctx, action, scope))
        return out

    @staticmethod
    def _covers(scene: Scene, cand: _Candidate) -> bool:
        return ((not cand.ctx.scope or cand.ctx.scope in scene.scope_flags)
                and (cand.treatment is None or cand.treatment in scene.treatment_flags)
                and not any(c.feature in scene.hidden for c in cand.changes))

    def _scene(self, cand: _Candidate) -> Scene | None:
        return next((s for s in self.scenes_ if self._covers(s, cand)), None)

    def _fit_for(self, candidates: list[_Candidate]) -> None:
        """One outcome model for every scope and event of ``candidates`` not yet covered; a second without
        the events when their treatment flags hid a driver that another candidate changes."""
        todo = [c for c in candidates if (c.changes or c.treatment is not None) and self._scene(c) is None]
        for attempt in range(2):
            if not todo:
                return
            treatments = [c.treatment for c in todo if c.treatment is not None] if attempt == 0 else []
            self.scenes_.append(fit_scene(self.ow, [c.ctx.scope for c in todo], self.settings.model,
                                          treatments=treatments))
            todo = [c for c in todo if self._scene(c) is None and c.treatment is None]

    # -- cached pieces of an impact -------------------------------------------------------------------

    def _window_stats(self, scope: tuple[Slice, ...], window: tuple[datetime, datetime]) -> WindowStats:
        key = (scope, tuple(window))
        if key not in self._stats:
            self._stats[key] = window_stats(self.ow, scope, *window)
        return self._stats[key]

    def _estimates(self, cand: _Candidate) -> tuple[dict, dict, tuple[str, ...]]:
        """DiD and model estimates of undoing ``cand`` on every metric (before the RCA's own evidence)."""
        ctx, scope = cand.ctx, cand.scope
        scene = self._scene(cand) if (cand.changes or cand.treatment is not None) else None
        key = (cand.action.lever, scope, ctx.scope, ctx.t0, ctx.window, ctx.baseline_window[0], tuple(cand.changes),
               cand.treatment, id(scene))
        if key in self._estimated:
            return self._estimated[key]
        ws = self.ow.workspace
        did: dict[str, list[Estimate]] = {m.name: [] for m in ws.metrics}
        model: dict[str, list[Estimate]] = {m.name: [] for m in ws.metrics}
        if cand.action.lever in ("revert_event", "restore_feature"):
            dids = (staggered_did_estimates(self.ow, scope, ctx.waves, ctx.window[1], ctx.baseline_window[0])
                    if ctx.waves else did_estimates(self.ow, scope, ctx.t0, ctx.window[1], ctx.baseline_window[0]))
            for name, est in dids.items():
                did[name].append(negate(est))
        notes: list[str] = []
        if scene is not None:
            try:
                now, memo = self._evaluation(scene, scope, ctx.window)
            except UserError as err:
                notes.append(f"outcome model not evaluated: {err}")
            else:
                off = scene.treatment_flags.get(cand.treatment) if cand.treatment is not None else None
                for name, est in scene_estimates(self.ow, scene, now, cand.changes, treatment_off=off,
                                                 memo=memo).items():
                    model[name].append(est)
            if scene.hidden and cand.treatment is not None:
                notes.append("left out of the outcome model because they move with the change: "
                             f"{', '.join(scene.hidden)}")
        self._estimated[key] = (did, model, tuple(notes))
        return self._estimated[key]

    def _evaluation(self, scene: Scene, scope: tuple[Slice, ...], window: tuple[datetime, datetime]):
        """The scope's evaluation records in ``window`` (one pull, with every scene's columns) and a memo
        of ``scene``'s as-is predictions on them."""
        select = list(dict.fromkeys(c for s in self.scenes_ for c in s.select))
        key = (scope, tuple(window), tuple(select))
        if key not in self._frames:
            self._frames[key] = (evaluation(self.ow, scene, scope, *window, self.settings.model.eval_sample,
                                            select=select), {})
        frame, memos = self._frames[key]
        return frame, memos.setdefault(id(scene), {})

    def _recommendation(self, incident: Incident, cand: _Candidate, primary: str) -> Recommendation:
        """Estimate a candidate's impact and tradeoff.

        Estimates are ordered by preference: undoing a change event prefers the design-based DiD (the
        RCA's own, then ours) over the model; restoring a driver prefers the model, because the DiD
        measures everything that moved in the scope at that time, not only what the driver carries.
        """
        ws = self.ow.workspace
        ctx, action, scope = cand.ctx, cand.action, cand.scope
        title = fill(action.title, cand.values)
        if title is None:
            generic = "Roll back {event} in {scope}" if action.lever == "revert_event" else \
                "Restore {feature} to its baseline level in {scope}"
            title = fill(generic, cand.values) or action.id.replace("_", " ")
        description = fill(action.description, cand.values) or action.description
        did, model, notes = self._estimates(cand)
        did = {name: list(v) for name, v in did.items()}
        if action.lever in ("revert_event", "restore_feature") and scope == ctx.scope:
            ev = evidence_estimate(ctx.cause, primary, incident.regression.metric)
            if ev is not None:
                did[primary].insert(0, negate(ev))
        prefer_model = action.lever != "revert_event"
        estimates = {name: (model[name] + did[name]) if prefer_model else (did[name] + model[name]) for name in did}
        impact = build_impact(ws, scope, self._window_stats(scope, ctx.window), self._window_stats((), ctx.window),
                              estimates, cand.counterfactual, ctx.window, applied=tuple(cand.changes))
        impact = replace(impact, notes=notes + agreement_notes(impact, [m.name for m in ws.metrics]))
        trade = tradeoff(ws, impact, primary, action, self.settings.unit_costs, self.settings.currency)
        action = replace(action, description=description)
        return Recommendation(0, action, title, ctx.cause.hypothesis, ctx.cause.change_event, cand.values["feature"],
                              ctx.cause.confidence, scope, impact, trade)


def _rank(recs: list[Recommendation]) -> list[Recommendation]:
    """Best first: expected workspace-wide gain of the incident's metric × the cause's confidence."""

    def score(r: Recommendation) -> tuple:
        p = r.impact.metric(r.tradeoff.primary_metric)
        gain = p.overall_change if p.good == "up" else -p.overall_change
        value = gain * r.confidence if math.isfinite(gain) else -math.inf
        return (-value, r.action.generic, r.title)

    seen: set[str] = set()
    out: list[Recommendation] = []
    for r in sorted(recs, key=score):
        if r.title in seen:
            continue
        seen.add(r.title)
        out.append(replace(r, rank=len(out) + 1))
    return out
