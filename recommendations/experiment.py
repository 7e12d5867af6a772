"""Experiment plans for the top action: hypothesis, metrics, unit, power, duration, ramp, stop rules.

Sample size. Two arms of equal size, a two-sided test at ``alpha`` with ``power``:

- rates: statsmodels `NormalIndPower` on Cohen's h = `proportion_effectsize(p₁, p₀)` (the arcsine
  transform), n = 2·((z₁₋α/₂ + z₁₋β)/h)² per arm; within 1 % of the classic pooled formula
  (Fleiss 1981) for the effects that matter here;
- means and ratios: `NormalIndPower` on d = Δ/σ, i.e. n = 2σ²(z₁₋α/₂ + z₁₋β)²/Δ², with σ the per-order
  SD measured in the scope (a ratio of sums is linearized: σ = SD(X − R·Y)/Ȳ).

Clusters. When the unit is not the order (customer, store, region, switchback cell), orders in one
unit are correlated; the variance grows by the design effect DE = 1 + (m − 1)·ICC (Kish 1965), m the
mean orders per unit over the test, ICC the intra-cluster correlation measured on the scope's recent
records by the one-way ANOVA estimator (Donner & Koval 1980), in one query on the workspace's engine:

    ICC = (MSB − MSW) / (MSB + (n₀ − 1)·MSW),   n₀ = (N − Σnⱼ²/N) / (k − 1).

For customers and stores m grows with the duration, so duration and DE are solved together (a few
fixed-point steps). Orders per arm = n · DE; days = orders per arm / (eligible orders per day ×
traffic share / 2), plus ramp days, rounded up to whole weeks (weekly seasonality), at least
``min_days``.

Randomization unit. The catalogue says how each action should be randomized; marketplace
interference (shared courier supply, batching) makes order-level tests invalid — treated orders take
couriers from control orders — so such actions use a switchback: each market × time block is
treatment or control (Bojinov, Simchi-Levi & Zhao 2023). Too few stores or regions in the scope to
randomize fall back to a switchback too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from data.slices import Slice
from data.sources import OpenWorkspace, quote
from data.workspace import Workspace
from detection.types import Interval
from metrics.definitions import record_sql, scope_predicate
from rca.types import Incident
from recommendations import text
from recommendations.records import WindowStats, micros_since, ts_col, window_stats, window_where
from recommendations.settings import ExperimentSettings
from recommendations.types import ExperimentPlan, Guardrail, MetricImpact, RampStep, Recommendation

BLOCK_ORIGIN = datetime(2000, 1, 3)  # DuckDB's time_bucket origin for widths in hours (a Monday)
MIN_CLUSTERS = 20  # fewer stores/regions than this in the scope cannot be randomized with power
MIN_PER_ARM = 100  # below this the normal approximation of the power calculation is not trusted


# ---------------------------------------------------------------------------------------------------
# power and clusters
# ---------------------------------------------------------------------------------------------------


def sample_size_proportions(p_control: float, p_treatment: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Orders per arm to tell ``p_treatment`` from ``p_control`` (Cohen's h, `NormalIndPower`)."""
    h = abs(float(proportion_effectsize(p_treatment, p_control)))
    if h == 0:
        return math.inf
    return float(NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0,
                                              alternative="two-sided"))


def sample_size_means(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Orders per arm to detect a difference ``delta`` in means with per-order SD ``sd``."""
    if delta == 0 or not math.isfinite(sd) or sd <= 0:
        return math.inf
    return float(NormalIndPower().solve_power(effect_size=abs(delta) / sd, alpha=alpha, power=power, ratio=1.0,
                                              alternative="two-sided"))


def design_effect(cluster_size: float, icc: float) -> float:
    """Kish's design effect 1 + (m − 1)·ICC."""
    return 1.0 + max(cluster_size - 1.0, 0.0) * max(icc, 0.0)


@dataclass(frozen=True)
class ClusterStats:
    """One-way ANOVA summary of a per-record value over clusters."""

    icc: float
    clusters: int
    records: int
    mean_size: float


def icc_anova(ow: OpenWorkspace, value_sql: str, cluster_sql: str, where: str = "TRUE") -> ClusterStats:
    """Intra-cluster correlation of ``value_sql`` over ``cluster_sql`` (ANOVA estimator, one query on the workspace's
    engine).

    Negative estimates (less between-cluster variation than chance) are reported as 0.
    """
    row = ow.engine.row(
        f"WITH v AS (SELECT {cluster_sql} AS c, CAST({value_sql} AS DOUBLE) AS v FROM records "
        f"WHERE ({where}) AND ({value_sql}) IS NOT NULL), "
        "g AS (SELECT c, count(*) AS n, sum(v) AS s, sum(v * v) AS ss FROM v GROUP BY c) "
        "SELECT count(*), sum(n), sum(s), sum(ss), sum(s * s / n), sum(n * n) FROM g")
    k, N, S, SS, between, n2 = (float(x or 0) for x in row)
    if k < 2 or N <= k:
        return ClusterStats(0.0, int(k), int(N), N / k if k else 0.0)
    ssb = between - S * S / N
    ssw = SS - between
    msb, msw = ssb / (k - 1), ssw / (N - k)
    n0 = (N - n2 / N) / (k - 1)
    denom = msb + (n0 - 1) * msw
    icc = (msb - msw) / denom if denom > 0 else 0.0
    return ClusterStats(float(min(max(icc, 0.0), 1.0)), int(k), int(N), N / k)


# ---------------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------------


def _dimension_like(ws: Workspace, words: tuple[str, ...]) -> str | None:
    for d in ws.records.dimensions:
        if any(w in d.lower() for w in words):
            return d
    return None


def _scope_dimension(scope: tuple[Slice, ...]) -> str | None:
    dims = {d for s in scope for d, _ in s.filters}
    return next(iter(dims)) if len(dims) == 1 else None


def market_dimension(ws: Workspace, scope: tuple[Slice, ...], settings: ExperimentSettings) -> str | None:
    """The dimension a switchback alternates over: configured, else the scope's, else a region-like one."""
    units = settings.units
    return (units.get("market") or units.get("region") or _dimension_like(ws, ("region", "market", "city", "zone"))
            or _scope_dimension(scope))


def switchback_block(ts: str, hours: int) -> str:
    """SQL numbering the ``hours``-hour block of the timestamp ``ts``: the blocks of DuckDB's
    ``time_bucket(INTERVAL 'h hours', ts)`` (the whole blocks since its origin for such widths, Monday
    2000-01-03 00:00), written with integer microseconds so that every engine numbers them alike."""
    return f"CAST(floor({micros_since(BLOCK_ORIGIN, ts)} / {int(hours) * 3_600_000_000}) AS BIGINT)"


@dataclass(frozen=True)
class _Unit:
    name: str
    label: str
    reason: str
    cluster_sql: str | None  # None: the order
    grows_with_time: bool
    notes: tuple[str, ...] = ()


def choose_unit(ow: OpenWorkspace, rec: Recommendation, settings: ExperimentSettings, where: str) -> _Unit:
    """The randomization unit for an action (see the module docstring)."""
    ws = ow.workspace
    action = rec.action
    ts = ts_col(ws)
    hours = settings.switchback_hours
    block = switchback_block(ts, hours)
    wanted = "switchback" if action.interference else action.randomization
    notes: list[str] = []

    def switchback(reason: str) -> _Unit:
        market = market_dimension(ws, rec.scope, settings)
        if market is None:
            return _Unit("switchback", f"{hours}-hour switchback", reason, f"CAST({block} AS VARCHAR)", False,
                         tuple(notes))
        cluster = f"CAST({quote(market)} AS VARCHAR) || '|' || CAST({block} AS VARCHAR)"
        return _Unit("switchback", f"{market} × {hours}-hour switchback", reason, cluster, False, tuple(notes))

    def count_distinct(col: str) -> int:
        return int(ow.engine.row(f"SELECT count(DISTINCT {quote(col)}) FROM records WHERE {where}")[0])

    if wanted == "switchback":
        reason = (f"marketplace interference: {action.interference}" if action.interference
                  else "the action acts on whole markets at once")
        return switchback(reason)
    if wanted == "customer":
        entity = ws.records.entity
        if entity:
            return _Unit("customer", entity, "a customer should see one version, so their repeat orders are not "
                                             "split across arms", f"CAST({quote(entity)} AS VARCHAR)", True)
        notes.append("the workspace names no customer column (records.entity): randomizing orders instead")
        return _Unit("order", "order", "no customer column; orders are independent for this action", None, False,
                     tuple(notes))
    if wanted in ("store", "region"):
        dim = settings.units.get(wanted) or _dimension_like(ws, ("store", "merchant") if wanted == "store"
                                                            else ("region", "market", "city")) \
            or _scope_dimension(rec.scope)
        if dim is not None:
            k = count_distinct(dim)
            if k >= 2 * MIN_CLUSTERS:
                return _Unit(wanted, dim, f"the action is applied per {dim}", f"CAST({quote(dim)} AS VARCHAR)", True)
            notes.append(f"only {k} {dim} value(s) in the scope, too few to randomize: alternating them over "
                         "time instead")
            return switchback(f"the action is applied per {dim} and there are too few to split into arms")
        notes.append(f"no {wanted} dimension found: randomizing orders")
    return _Unit("order", "order", "orders do not affect one another under this action", None, False, tuple(notes))


def _primary(ws: Workspace, incident: Incident, rec: Recommendation, stats: WindowStats) -> tuple[str, list[str]]:
    notes = []
    name = incident.regression.metric
    try:
        spec = ws.metric(name)
    except KeyError:
        spec = next(m for m in ws.metrics if m.role == "cx")
        notes.append(f"the incident's metric {name!r} is not in the workspace; using {spec.name}")
        name = spec.name
    if spec.type != "composite":
        return name, notes
    assert spec.weights is not None  # a composite always has its weights (workspace validation)
    measured = [s.regression.metric for s in incident.symptoms if s.regression.metric in spec.weights]
    if measured:  # the most affected symptom that a record can be judged on
        notes.append(f"{name} is a composite; the test reads {measured[0]}, the most affected of the incident's "
                     f"other symptoms among its components, and keeps {name} as a guardrail")
        return measured[0], notes
    best, best_z = None, -1.0
    for c in spec.weights:
        mi = rec.impact.metric(c)
        sd = stats.sd.get(c, float("nan"))
        z = mi.gain / sd if math.isfinite(mi.change) and sd and math.isfinite(sd) else -1.0
        if z > best_z:
            best, best_z = c, z
    if best is None:
        return name, notes
    notes.append(f"{name} is a composite; the test reads its component {best}, the one the action moves most "
                 f"relative to its noise, and keeps {name} as a guardrail")
    return best, notes


def _mde(mi: MetricImpact, baseline: float, settings: ExperimentSettings) -> tuple[float, str]:
    lo, hi = mi.interval.low, mi.interval.high
    if mi.good == "down":
        lo, hi = -hi, -lo
    gain = mi.gain
    if math.isfinite(lo) and lo > 0:
        return lo, "the low end of the expected gain, so a gain of the expected size is caught"
    if math.isfinite(gain) and gain > 0:
        return gain / 2, "half the expected gain (its likely range includes no change)"
    return abs(baseline) * settings.guardrail_margin, (f"a {100 * settings.guardrail_margin:.0f}% relative change "
                                                       "(no gain is established yet)")


def _ramp(unit: str) -> tuple[RampStep, ...]:
    if unit == "switchback":
        return (RampStep(0.0, 1, "shadow day: blocks are assigned and logged, nothing changes; the schedule "
                                  "and logging are complete"),
                RampStep(0.25, 1, "a quarter of the blocks treated; no guardrail beyond its margin"),
                RampStep(0.5, 0, "half of the blocks treated until the planned end: the analysis period"))
    return (RampStep(0.05, 1, "5% of traffic; assignment logged for every order, arms in the planned ratio"),
            RampStep(0.25, 1, "25% of traffic; no guardrail beyond its margin"),
            RampStep(0.5, 0, "50/50 until the planned end: the analysis period"))


def plan_experiment(ow: OpenWorkspace, incident: Incident, rec: Recommendation,
                    settings: ExperimentSettings, incident_id: str | None = None,
                    stats: WindowStats | None = None) -> ExperimentPlan:
    """The experiment that would prove ``rec`` works (see the module docstring for every choice).

    ``stats``: the scope's `window_stats` over the impact's window, when the caller has them already."""
    ws = ow.workspace
    start, end = rec.impact.window_start, rec.impact.window_end
    if start is None or end is None:
        raise ValueError(f"recommendation {rec.title!r}: an experiment needs the impact's window (not estimated)")
    stats = stats if stats is not None else window_stats(ow, rec.scope, start, end)
    primary, notes = _primary(ws, incident, rec, stats)
    spec = ws.metric(primary)
    mi = rec.impact.metric(primary)
    baseline = stats.values[primary]
    sd = stats.sd.get(primary, float("nan"))
    mde, mde_basis = _mde(mi, baseline, settings)
    signed = mde if spec.good == "up" else -mde
    alpha, power = settings.alpha, settings.power
    if spec.type == "rate":
        target = min(max(baseline + signed, 1e-6), 1 - 1e-6)
        effect = abs(float(proportion_effectsize(target, baseline)))
        n0 = sample_size_proportions(baseline, target, alpha, power)
        sd = math.sqrt(baseline * (1 - baseline))
    else:
        effect = mde / sd if sd and math.isfinite(sd) else float("nan")
        n0 = sample_size_means(mde, sd, alpha, power)
    where = f"{scope_predicate(rec.scope)} AND {window_where(ws, start, end)}"
    unit = choose_unit(ow, rec, settings, where)
    notes += list(unit.notes)

    eligible = stats.records_per_day
    per_arm_day = eligible * settings.traffic_share / 2
    ramp = _ramp(unit.name)
    ramp_days = sum(r.days for r in ramp)
    icc, m, de = 0.0, 1.0, 1.0
    if unit.cluster_sql is not None:
        value = _value_sql(ws, primary, baseline)
        cs = icc_anova(ow, value, unit.cluster_sql, where)
        icc = cs.icc
        m = cs.mean_size
        de = design_effect(m, icc)
        if unit.grows_with_time:
            for _ in range(5):  # mean orders per unit over the test's own length
                days = max(1, math.ceil(n0 * de / per_arm_day)) if per_arm_day > 0 else settings.max_days
                m = _mean_size(ow, unit.cluster_sql, f"{scope_predicate(rec.scope)}", end, days)
                new = design_effect(m, icc)
                if abs(new - de) < 1e-3:
                    break
                de = new
    n_arm = math.ceil(n0 * de) if math.isfinite(n0) else None
    if n_arm is not None and n_arm < MIN_PER_ARM:
        notes.append(f"the power calculation asks for only {n_arm} orders per arm; the plan uses {MIN_PER_ARM} so "
                     "that the normal approximation behind it holds")
        n_arm = MIN_PER_ARM
    if n_arm is None or per_arm_day <= 0:
        days_needed = settings.max_days
        notes.append("the sample size is unbounded (no expected gain to detect); the plan runs the maximum")
        n_arm = 0
    else:
        days_needed = max(1, math.ceil(n_arm / per_arm_day))
    planned = max(settings.min_days, days_needed + ramp_days)
    planned = 7 * math.ceil(planned / 7)
    if planned > settings.max_days:
        notes.append(f"the test needs {days_needed + ramp_days} days, more than the {settings.max_days}-day limit: "
                     "widen the scope, accept a larger detectable effect, or decide on the estimate")
    planned_per_arm = per_arm_day * (planned - ramp_days)
    clusters = math.ceil(n_arm / m) if unit.cluster_sql is not None and m > 0 else None
    planned_units = math.floor(planned_per_arm / m) if unit.cluster_sql is not None and m > 0 else None
    if planned_units is not None and planned_units < MIN_CLUSTERS:
        notes.append(f"only about {planned_units} {unit.name} units per arm in the planned test: lengthen it or "
                     "use smaller units")

    guardrails = _guardrails(ws, rec, primary, stats, settings, planned_per_arm, de)
    title = rec.title
    scope_words = text.scope_words(rec.scope)
    st = text.style(ws, spec)
    verb = "raises" if spec.good == "up" else "lowers"
    hypothesis = (f"{title} {verb} {text.label(primary)} in {scope_words} from {text.value(st, baseline)} by at "
                  f"least {text.amount(st, mde)} (expected {text.change(st, mi.change)}, likely "
                  f"{text.span(st, mi.interval.low, mi.interval.high)}), without worsening "
                  f"{', '.join(text.label(g.metric) for g in guardrails) or 'other metrics'} beyond their margins.")
    checklist = _checklist(ws, primary, guardrails, unit, settings)
    rollout = _rollout(ws, rec, guardrails, scope_words)
    stops = _stops(ws, primary, spec, guardrails, mde, planned, unit)
    return ExperimentPlan(
        incident_id=incident_id or incident.regression.id, action_id=rec.action.id, title=title,
        hypothesis=hypothesis, scope=rec.scope, primary_metric=primary, metric_type=spec.type,
        unit_of_metric=st.unit, baseline=baseline,
        baseline_sd=float(sd), expected_change=mi.change, expected_interval=mi.interval, mde=mde,
        mde_basis=mde_basis, alpha=alpha, power=power, effect_size=float(effect),
        n_per_arm_unclustered=math.ceil(n0) if math.isfinite(n0) else 0, unit=unit.name, unit_label=unit.label,
        unit_reason=unit.reason, icc=float(icc), cluster_size=float(m), design_effect=float(de), n_per_arm=n_arm,
        clusters_per_arm=clusters, planned_orders_per_arm=int(planned_per_arm), planned_units_per_arm=planned_units, eligible_orders_per_day=float(eligible), traffic_share=settings.traffic_share,
        days_needed=days_needed, planned_days=planned, guardrails=guardrails, ramp=ramp, checklist=checklist,
        rollout=rollout, stop_criteria=stops, notes=tuple(notes))


def _value_sql(ws: Workspace, metric: str, ratio: float) -> str:
    s = record_sql(ws.metric(metric))
    if s.constant_y:
        return s.x
    return f"({s.x}) - {float(ratio)!r} * ({s.y})"


def _mean_size(ow: OpenWorkspace, cluster_sql: str, scope_where: str, end: datetime, days: int) -> float:
    ws = ow.workspace
    start = end - timedelta(days=days)
    n, k = ow.engine.row(f"SELECT count(*), count(DISTINCT {cluster_sql}) FROM records WHERE {scope_where} AND "
                         f"{window_where(ws, start, end)}")
    return float(n) / float(k) if k else 1.0


def _guardrails(ws: Workspace, rec: Recommendation, primary: str, stats: WindowStats, settings: ExperimentSettings,
                planned_per_arm: float, de: float) -> tuple[Guardrail, ...]:
    """Every other metric (so every other symptom of the incident), with the worsening that stops the test.

    The margin is the largest of: the tolerance (``guardrail_margin`` of the bad share of a rate —
    1 − p when higher is better — or of a mean's level); the smallest change the planned test can see
    for that metric (same alpha, power and design effect); and, for a metric the action is expected to
    worsen, the far end of that expected cost.
    """
    z = _z(settings.alpha, settings.power)
    out = []
    for m in ws.metrics:
        if m.name == primary or m.role not in ("cx", "efficiency", "guardrail"):
            continue
        mi = rec.impact.metric(m.name)
        base = stats.values.get(m.name, float("nan"))
        if not math.isfinite(base):
            continue
        bad = (1 - base if m.good == "up" else base) if m.type == "rate" else abs(base)
        margin = bad * settings.guardrail_margin
        reason = f"{100 * settings.guardrail_margin:.0f}% tolerance"
        sd = stats.sd.get(m.name, float("nan"))
        if m.type == "composite":
            sd = float("nan")
        if math.isfinite(sd) and planned_per_arm > 0:
            visible = z * sd * math.sqrt(2 * de / planned_per_arm)
            if visible > margin:
                margin, reason = visible, "the smallest change the planned test can see"
        if math.isfinite(mi.change) and mi.gain < 0:
            worst = max(abs(mi.interval.low), abs(mi.interval.high)) if math.isfinite(mi.interval.low) \
                else abs(mi.change)
            if worst > margin:
                margin = worst
                reason = "the expected cost of the action, up to the far end of its likely range"
        out.append(Guardrail(m.name, base, margin, mi.change, reason, mi.type, mi.unit))
    return tuple(out)


def _z(alpha: float, power: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))


def _checklist(ws: Workspace, primary: str, guardrails, unit: _Unit, settings: ExperimentSettings) -> tuple[str, ...]:
    metrics = ", ".join([primary] + [g.metric for g in guardrails])
    items = [f"Write this plan down before launch: hypothesis, primary metric ({primary}), guardrails, sample size "
             "and the one day the result is read."]
    if unit.name == "switchback":
        items.append(f"Build the switchback schedule: each {unit.label.split(' switchback')[0]} block is randomly "
                     "treatment or control, balanced across hours of the day and days of the week; leave out the "
                     "first 15 minutes of every block from the analysis (orders still in flight from the previous "
                     "block).")
    elif unit.name == "order":
        items.append("Assign each order by a salted hash of its id; log the arm with the order.")
    else:
        items.append(f"Assign by a salted hash of the {unit.label} so each {unit.name} stays in one arm; log the arm "
                     "with every order.")
    items += [f"Check that {metrics} are recorded for every order in both arms.",
              "Run one day with assignment on and no change (A/A): the arms' order counts and metrics must match "
              "within chance.",
              "Agree who can switch the test off, and test the switch."]
    return tuple(items)


def _rollout(ws: Workspace, rec: Recommendation, guardrails, scope_words: str) -> tuple[str, ...]:
    watch = ", ".join(text.label(g.metric) for g in guardrails[:4])
    return (f"If the test wins: apply the action to all of {scope_words}.",
            "Keep a 5% holdback (or one block in twenty) for two weeks to confirm the gain lasts.",
            f"Watch {watch} daily for two weeks after the rollout.",
            f"Record the measured exchange rate ({rec.tradeoff.exchange_rate}) in the incident and close it.")


def _stops(ws: Workspace, primary: str, spec, guardrails, mde: float, planned: int, unit: _Unit) -> tuple[str, ...]:
    out = []
    for g in guardrails:
        gspec = ws.metric(g.metric)
        gs = text.style(ws, gspec)
        limit = g.baseline + (g.margin if gspec.good == "down" else -g.margin)
        out.append(f"Stop and switch back if {text.label(g.metric)} in the treatment arm is worse than control by "
                   f"more than {text.amount(gs, g.margin)} (now {text.value(gs, g.baseline)}; limit "
                   f"{text.value(gs, limit)}), confirmed by the daily one-sided check at the 1% level.")
    out.append("Stop if the arms' order counts drift apart by more than chance (sample-ratio check fails).")
    out.append(f"Stop at the halfway check if {text.label(primary)} is worse in the treatment arm by more than "
               f"{text.amount(text.style(ws, spec), mde)}.")
    out.append(f"Do not stop early for a win: read {text.label(primary)} once, after {planned} days.")
    return tuple(out)
