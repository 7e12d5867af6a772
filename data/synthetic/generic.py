"""Other-domain scenario generator: payments, SaaS API traffic, warehouse operations — a known answer each.

The RCA engine must work on datasets it has never seen, with other column names, grains, metrics and
event kinds. `generate_domain` writes the same kind of folder as the CX generator (records as Parquet,
``change_events.csv``, ``workspace.yaml``, ``truth.json``) for a domain described purely as data
(`Domain`): a granular *unit* dimension nested in a *group* dimension, independent dimensions, a
numeric driver feature with autocorrelated noise per group, a numeric nuisance feature, a categorical
*flag* feature, and outcome metrics driven by them through a small structural model.

Scenarios (each with decoys: a same-kind change in another scope within the hour, a global change a
few hours before, routine changes at random times):

- ``scoped_change``  a logged change hurts the outcome directly (no recorded feature carries it);
- ``mediated_change`` a logged change flips the flag feature in its scope, which hurts the outcome;
- ``driver_shift``   the driver feature degrades in one group with nothing logged;
- ``staggered``      units of one group move in waves (one logged event per wave), each wave hurt;
- ``global_change``  a logged change everywhere;
- ``quiet``          nothing real.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from data.atomic import make_temp_dir
from data.errors import UserError

SCENARIOS = ("scoped_change", "mediated_change", "driver_shift", "staggered", "global_change", "quiet")


@dataclass(frozen=True)
class ChangeKind:
    """How a domain names a change: ``name`` (a wave number is appended for staggered ones), ``kind``."""

    name: str
    kind: str
    description: str
    hypothesis: str = "change_event"  # what the truth calls it (the library's label for this kind)


@dataclass(frozen=True)
class Domain:
    """A domain as data: columns, their roles, the structural model's coefficients and the change vocabulary."""

    name: str
    timestamp: str
    grain: str  # "hour" | "day"
    days: int
    unit: str
    n_units: int
    unit_prefix: str
    group: str
    groups: tuple[str, ...]
    group_share: tuple[float, ...]
    others: tuple[tuple[str, tuple[str, ...], tuple[float, ...]], ...]
    driver: str
    driver_base: float
    driver_sd: float  # autocorrelated group-level noise (relative)
    driver_shift: float  # relative shift in the driver_shift scenario (e.g. +0.6 = 60% worse)
    driver_effect: float  # logit change per unit of relative driver excess
    nuisance: str
    flag: str
    flag_levels: tuple[str, str]
    success: str  # boolean outcome column
    success_base: float  # logit
    latency: str  # numeric outcome column
    latency_base: float
    effect_logit: float  # direct effect of a change on the success logit (negative = worse)
    effect_latency: float  # relative latency increase of a change
    metrics: tuple[dict, ...]
    scoped: ChangeKind
    mediated: ChangeKind
    staggered: ChangeKind
    global_: ChangeKind
    routine: tuple[ChangeKind, ...]
    driver_hypothesis: str = "driver_shift"
    rca: dict = field(default_factory=dict)
    scoped_on: str = "group"  # "group" | "other" | "conjunction": how the scoped change's scope is written


PAYMENTS = Domain(
    name="payments-auth", timestamp="authorized_at", grain="hour", days=28,
    unit="merchant_id", n_units=240, unit_prefix="m", group="country",
    groups=("DE", "FR", "GB", "ES", "IT", "NL", "PL", "SE"),
    group_share=(0.22, 0.16, 0.18, 0.1, 0.1, 0.09, 0.08, 0.07),
    others=(("card_brand", ("visa", "mastercard", "amex", "discover"), (0.5, 0.35, 0.1, 0.05)),
            ("channel", ("ecom", "in_app", "pos"), (0.55, 0.3, 0.15))),
    driver="issuer_latency_ms", driver_base=180.0, driver_sd=0.03, driver_shift=0.7, driver_effect=-1.0,
    nuisance="risk_score", flag="auth_flow", flag_levels=("frictionless", "challenge"),
    success="approved", success_base=2.6, latency="auth_ms", latency_base=420.0,
    effect_logit=-0.7, effect_latency=0.25,
    metrics=(
        {"name": "approval_rate", "type": "rate", "expr": "approved", "good": "up"},
        {"name": "avg_auth_ms", "type": "mean", "expr": "auth_ms", "good": "down", "unit": "ms"},
        {"name": "retry_rate", "type": "rate", "expr": "retried", "good": "down"},
    ),
    scoped=ChangeKind("3ds_rollout", "rollout", "3-D Secure 2 rolled out"),
    mediated=ChangeKind("sca_enforcement", "compliance", "strong customer authentication enforced"),
    staggered=ChangeKind("acquirer_migration", "migration", "merchants moved to the new acquirer", "migration"),
    global_=ChangeKind("tokenization_upgrade", "deploy", "card tokenization service upgraded"),
    routine=(ChangeKind("fraud_rules_update", "rules", "fraud rules refreshed"),
             ChangeKind("fx_rates_job", "ops", "FX rates job moved"),
             ChangeKind("checkout_sdk_release", "release", "checkout SDK release"),
             ChangeKind("issuer_bin_table", "data", "BIN table refreshed"),
             ChangeKind("dashboard_release", "release", "merchant dashboard release")),
    driver_hypothesis="issuer_degradation",
    rca={"hypotheses": [{"id": "issuer_degradation",
                         "description": "An issuer or issuer processor degraded: slower or failing authorizations.",
                         "features": ["issuer_*"], "event_kinds": ["issuer"],
                         "remediation": ["reroute_issuer_traffic", "issuer_escalation"]}]},
    scoped_on="conjunction",
)

SAAS = Domain(
    name="saas-api", timestamp="request_ts", grain="hour", days=28,
    unit="tenant", n_units=300, unit_prefix="t", group="cluster",
    groups=("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"),
    group_share=(0.32, 0.2, 0.22, 0.14, 0.12),
    others=(("endpoint", ("/v1/search", "/v1/items", "/v1/orders", "/v1/users", "/v1/auth", "/v1/export"),
             (0.3, 0.25, 0.15, 0.12, 0.12, 0.06)),
            ("client", ("web", "ios", "android", "python_sdk", "js_sdk"), (0.35, 0.2, 0.2, 0.15, 0.1))),
    driver="db_pool_utilization", driver_base=0.55, driver_sd=0.025, driver_shift=0.5, driver_effect=-1.4,
    nuisance="payload_kb", flag="gateway_version", flag_levels=("gw-1", "gw-2"),
    success="ok", success_base=3.3, latency="latency_ms", latency_base=95.0,
    effect_logit=-0.9, effect_latency=0.35,
    metrics=(
        {"name": "success_rate", "type": "rate", "expr": "ok", "good": "up"},
        {"name": "mean_latency_ms", "type": "mean", "expr": "latency_ms", "good": "down", "unit": "ms"},
        {"name": "timeout_rate", "type": "rate", "expr": "latency_ms > 1000", "good": "down"},
    ),
    scoped=ChangeKind("search_index_rebuild", "deploy", "search index rebuilt with a new analyzer"),
    mediated=ChangeKind("gateway_upgrade", "infra", "API gateway upgraded"),
    staggered=ChangeKind("tenant_cutover_batch", "cutover", "tenants cut over to the new storage tier"),
    global_=ChangeKind("tls_library_bump", "infra", "TLS library bumped fleet-wide"),
    routine=(ChangeKind("autoscaler_tuning", "config", "autoscaler thresholds tuned"),
             ChangeKind("log_sampling_change", "config", "log sampling lowered"),
             ChangeKind("sdk_release", "release", "SDK release"),
             ChangeKind("rate_limit_update", "config", "rate limits updated"),
             ChangeKind("docs_deploy", "deploy", "docs site deploy")),
    scoped_on="other",
)

WAREHOUSE = Domain(
    name="warehouse-ops", timestamp="shift_date", grain="day", days=84,
    unit="site", n_units=60, unit_prefix="wh", group="region",
    groups=("northeast", "southeast", "midwest", "southwest", "pacific"),
    group_share=(0.26, 0.22, 0.2, 0.17, 0.15),
    others=(("shift", ("day", "night"), (0.62, 0.38)), ("sku_class", ("A", "B", "C"), (0.5, 0.3, 0.2))),
    driver="staffing_ratio_gap", driver_base=0.1, driver_sd=0.03, driver_shift=0.8, driver_effect=-0.9,
    nuisance="pick_density", flag="wms_version", flag_levels=("wms-7", "wms-8"),
    success="pick_correct", success_base=3.0, latency="minutes_per_order", latency_base=6.0,
    effect_logit=-0.8, effect_latency=0.3,
    metrics=(
        {"name": "pick_accuracy", "type": "rate", "expr": "pick_correct", "good": "up"},
        {"name": "minutes_per_order", "type": "ratio", "numerator": "minutes_per_order", "denominator": "1",
         "good": "down", "unit": "min"},
    ),
    scoped=ChangeKind("slotting_algorithm_v2", "algorithm", "new slotting algorithm"),
    mediated=ChangeKind("wms_upgrade", "software", "warehouse management system upgrade"),
    staggered=ChangeKind("scanner_fleet_swap", "hardware", "handheld scanners swapped site by site"),
    global_=ChangeKind("labor_standard_update", "standard", "engineered labor standards updated"),
    routine=(ChangeKind("carrier_cutoff_change", "logistics", "carrier cut-off moved"),
             ChangeKind("safety_training", "training", "safety training week"),
             ChangeKind("peak_staffing_plan", "planning", "peak staffing plan")),
)

DOMAINS = {d.name: d for d in (PAYMENTS, SAAS, WAREHOUSE)}


@dataclass(frozen=True)
class _Event:
    ts: datetime
    name: str
    kind: str
    scope: str
    description: str


def _scope_text(dim: str, values) -> str:
    return ";".join(f"{dim}={v}" for v in values)


def _pick_groups(rng: np.random.Generator, d: Domain, k: int, lo: float = 0.1, hi: float = 0.4) -> list[int]:
    from itertools import combinations

    share = np.asarray(d.group_share)
    options = [c for c in combinations(range(len(d.groups)), k) if lo <= share[list(c)].sum() <= hi]
    return list(options[int(rng.integers(len(options)))])


def generate_domain(domain: str | Domain, scenario: str, records: int, seed: int, out: str | Path,
                    start: str = "2026-03-02") -> dict:
    """Write a workspace of ``domain`` with ``scenario`` to ``out``; returns the truth document."""
    d = DOMAINS[domain] if isinstance(domain, str) else domain
    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
    out = Path(out)
    rng_world, rng_plan, rng_rows = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    t0 = datetime.fromisoformat(start)
    day_h = 24
    hours = d.days * day_h

    # world: units (Zipf volumes), their group; driver noise per group and hour (AR(1))
    unit_group = rng_world.choice(len(d.groups), d.n_units, p=np.asarray(d.group_share) / sum(d.group_share))
    volume = rng_world.permutation(np.arange(1, d.n_units + 1) ** -0.9)
    volume = volume / volume.sum()
    unit_names = np.array([f"{d.unit_prefix}{i + 1:04d}" for i in range(d.n_units)])
    unit_effect = rng_world.normal(0, 0.25, d.n_units)
    level = np.zeros(len(d.groups))
    noise = np.empty((hours, len(d.groups)))
    for h in range(hours):
        level = 0.9 * level + rng_world.normal(0, d.driver_sd * np.sqrt(1 - 0.81), len(d.groups))
        noise[h] = level

    # the plan: start time, scope, events
    start_h = (d.days // 2) * day_h + (int(rng_plan.integers(8, 15)) if d.grain == "hour" else 0)
    if d.grain == "day":
        start_h = (d.days // 2) * day_h
    events: list[_Event] = []
    truth_inj: list[dict[str, Any]] = []
    at = lambda h, minutes=0: t0 + timedelta(hours=int(h), minutes=int(minutes))  # noqa: E731
    scope_kind: list[tuple[tuple[str, str], ...]] | str | None = None
    direct_mask_spec = None  # (dim, values) or conjunction list or "*"
    waves: list[tuple[int, set]] = []
    if scenario in ("scoped_change", "mediated_change", "driver_shift"):
        if scenario == "scoped_change" and d.scoped_on == "other":
            dim, values, weights = d.others[0]
            share = np.asarray(weights) / sum(weights)
            big = [v for v, w in zip(values, share, strict=True) if w >= 0.12]  # a slice big enough to matter
            scope: list[tuple[tuple[str, str], ...]] = [((dim, big[int(rng_plan.integers(len(big)))]),)]
        elif scenario == "scoped_change" and d.scoped_on == "conjunction":
            g = _pick_groups(rng_plan, d, 2, 0.2, 0.45)
            dim, values, _ = d.others[0]
            scope = [((d.group, d.groups[i]), (dim, values[0])) for i in g]
        else:
            g = _pick_groups(rng_plan, d, 1 if scenario == "driver_shift" else int(rng_plan.integers(1, 3)))
            scope = [((d.group, d.groups[i]),) for i in g]
        scope_kind = scope
        change = d.scoped if scenario == "scoped_change" else d.mediated
        scope_str = ";".join("&".join(f"{k}={v}" for k, v in sorted(s)) for s in scope)
        if scenario != "driver_shift":
            events.append(_Event(at(start_h), change.name, change.kind, scope_str, change.description))
        cause = {"hypothesis": d.driver_hypothesis if scenario == "driver_shift" else change.hypothesis,
                 "change_event": None if scenario == "driver_shift" else change.name,
                 "feature": d.driver if scenario == "driver_shift" else (d.flag if scenario == "mediated_change" else None)}
        truth_inj.append({"start": at(start_h).isoformat(), "scope": scope_str, "cause": cause})
        twin_kind = change if scenario != "driver_shift" else d.mediated
        taken = {v for s in scope for k, v in s if k == d.group}
        free = [g for g in d.groups if g not in taken]
        twin_scope = f"{d.group}={free[int(rng_plan.integers(len(free)))]}"
        if scenario == "scoped_change" and d.scoped_on == "other":
            dim, values, _ = d.others[0]
            others = [v for v in values if v not in {v for s in scope for _, v in s}]
            twin_scope = f"{dim}={others[int(rng_plan.integers(len(others)))]}"
        twin = _Event(at(start_h, int(rng_plan.integers(0, 46))), f"{twin_kind.name}_b", twin_kind.kind, twin_scope,
                      twin_kind.description + " (second scope)")
        events.append(twin)
        decoys = [twin.name]
    elif scenario == "staggered":
        gi = _pick_groups(rng_plan, d, 1, 0.12, 0.35)[0]
        members = rng_plan.permutation(np.flatnonzero(unit_group == gi))
        n_waves = int(rng_plan.integers(3, 5))
        gap = (36 if d.grain == "hour" else 24 * 5)
        starts = [start_h + i * gap + (int(rng_plan.integers(-3, 4)) if d.grain == "hour" else 0) for i in range(n_waves)]
        starts[0] = start_h
        for i, (part, s) in enumerate(zip(np.array_split(members, n_waves), starts, strict=True)):
            name = f"{d.staggered.name}_{i + 1}"
            stores = sorted(unit_names[part])
            waves.append((s, set(part)))
            events.append(_Event(at(s), name, d.staggered.kind, _scope_text(d.unit, stores),
                                 f"{d.staggered.description}: wave {i + 1}/{n_waves}"))
        cause = {"hypothesis": d.staggered.hypothesis, "change_event": f"{d.staggered.name}_1", "feature": None}
        truth_inj.append({"start": at(start_h).isoformat(), "scope": f"{d.group}={d.groups[gi]}", "cause": cause,
                          "waves": [{"name": e.name, "start": e.ts.isoformat()} for e in events]})
        other_groups = [x for x in range(len(d.groups)) if x != gi]
        twin = _Event(at(start_h, int(rng_plan.integers(0, 46))), f"{d.mediated.name}_pilot", d.staggered.kind,
                      f"{d.group}={d.groups[other_groups[int(rng_plan.integers(len(other_groups)))]]}",
                      "pilot in another group")
        events.append(twin)
        decoys = [twin.name]
        scope_kind = [((d.group, d.groups[gi]),)]
    elif scenario == "global_change":
        events.append(_Event(at(start_h), d.global_.name, d.global_.kind, "*", d.global_.description))
        cause = {"hypothesis": d.global_.hypothesis, "change_event": d.global_.name, "feature": None}
        truth_inj.append({"start": at(start_h).isoformat(), "scope": "*", "cause": cause})
        gi = int(rng_plan.integers(len(d.groups)))
        twin = _Event(at(start_h, int(rng_plan.integers(0, 46))), f"{d.scoped.name}_canary", d.scoped.kind,
                      f"{d.group}={d.groups[gi]}", "canary in one group")
        events.append(twin)
        decoys = [twin.name]
        scope_kind = "*"
    else:
        decoys = []
    # a global decoy a few hours (or days, for daily data) before, and routine changes
    lag = int(rng_plan.integers(3, 21)) if d.grain == "hour" else 24 * int(rng_plan.integers(2, 5))
    g_decoy = _Event(at(start_h - lag), "platform_release_" + str(int(rng_plan.integers(10, 99))), "release", "*",
                     "platform release")
    events.append(g_decoy)
    decoys.append(g_decoy.name)
    routine = []
    for i, pick in enumerate(rng_plan.choice(len(d.routine), min(len(d.routine), 5), replace=False)):
        ck = d.routine[int(pick)]
        h = int(rng_plan.integers(day_h, hours - day_h))
        if d.grain == "day":
            h = (h // day_h) * day_h
        which = int(rng_plan.integers(3))
        if which == 0:
            sc = f"{d.group}={d.groups[int(rng_plan.integers(len(d.groups)))]}"
        elif which == 1:
            dim, values, _ = d.others[-1]
            sc = f"{dim}={values[int(rng_plan.integers(len(values)))]}"
        else:
            sc = "*"
        e = _Event(at(h, int(rng_plan.integers(0, 60)) if d.grain == "hour" else 0), f"{ck.name}_{i + 1}", ck.kind, sc,
                   ck.description)
        events.append(e)
        routine.append(e.name)

    # records
    n = int(records)
    if d.grain == "hour":
        hod = np.arange(24)
        profile = 0.35 + np.exp(-0.5 * ((hod - 13) / 4.0) ** 2) + 0.6 * np.exp(-0.5 * ((hod - 20) / 2.5) ** 2)
        weekday = np.array([1.0, 1.02, 1.03, 1.05, 1.1, 0.85, 0.8])
        w = np.tile(profile, d.days) * np.repeat(weekday[(np.arange(d.days) + t0.weekday()) % 7], 24)
    else:
        weekday = np.array([1.0, 1.02, 1.03, 1.05, 1.1, 0.6, 0.5])
        w = np.zeros(hours)
        w[::24] = weekday[(np.arange(d.days) + t0.weekday()) % 7]
    hour = np.sort(rng_rows.choice(hours, n, p=w / w.sum()))
    seconds = hour * 3600 + (rng_rows.integers(0, 3600, n) if d.grain == "hour" else 0)
    unit = rng_rows.choice(d.n_units, n, p=volume)
    group = unit_group[unit]
    other_idx = [rng_rows.choice(len(vals), n, p=np.asarray(p) / sum(p)) for _, vals, p in d.others]
    columns = {d.unit: unit_names[unit], d.group: np.asarray(d.groups)[group]}
    for (dim, vals, _), idx in zip(d.others, other_idx, strict=True):
        columns[dim] = np.asarray(vals)[idx]

    def mask_of(scope) -> np.ndarray:
        if scope == "*":
            return np.ones(n, bool)
        m = np.zeros(n, bool)
        for s in scope:
            part = np.ones(n, bool)
            for k, v in s:
                part &= columns[k] == v
            m |= part
        return m

    post = hour >= start_h
    daily = np.sin(2 * np.pi * (hour % 24) / 24.0) if d.grain == "hour" else 0.0
    rel = noise[hour, group] + 0.04 * daily + rng_rows.normal(0, 0.03, n)  # relative driver excess
    flag_new = np.zeros(n, bool)
    direct = np.zeros(n, bool)
    if scenario == "driver_shift":
        rel = rel + d.driver_shift * (mask_of(scope_kind) & post)
    elif scenario == "mediated_change":
        flag_new |= mask_of(scope_kind) & post
    elif scenario in ("scoped_change",):
        direct |= mask_of(scope_kind) & post
    elif scenario == "global_change":
        direct |= post
    elif scenario == "staggered":
        for s, wave_units in waves:
            direct |= np.isin(unit, list(wave_units)) & (hour >= s)
    driver = d.driver_base * np.exp(rel)
    nuisance = rng_rows.gamma(2.0, 1.0, n)
    logit = (d.success_base + unit_effect[unit] + d.driver_effect * np.maximum(rel, 0)
             - 0.05 * nuisance + d.effect_logit * (direct | flag_new)
             + rng_rows.normal(0, 0.1, n))
    for (dim, vals, _), idx in zip(d.others, other_idx, strict=True):
        logit = logit + np.linspace(-0.2, 0.2, len(vals))[idx]
    success = rng_rows.random(n) < 1 / (1 + np.exp(-logit))
    latency = d.latency_base * np.exp(0.35 * rng_rows.standard_normal(n) + 0.8 * np.maximum(rel, 0)
                                      + np.log1p(d.effect_latency) * (direct | flag_new) + 0.05 * nuisance)
    retried = rng_rows.random(n) < np.where(success, 0.02, 0.35)
    ts = np.datetime64(t0, "s") + seconds.astype("timedelta64[s]")
    table = {
        d.timestamp: ts.astype("datetime64[us]") if d.grain == "hour" else ts.astype("datetime64[D]"),
        **columns,
        d.driver: np.round(driver, 4), d.nuisance: np.round(nuisance, 3),
        d.flag: np.where(flag_new, d.flag_levels[1], d.flag_levels[0]),
        d.success: success, d.latency: np.round(latency, 2), "retried": retried,
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, out.name)
    try:
        (tmp / "records").mkdir()
        pq.write_table(pa.table(table), tmp / "records" / "part-0.parquet", compression="zstd")
        lines = ["ts,name,kind,scope,description"]
        for e in sorted(events, key=lambda e: (e.ts, e.name)):
            lines.append(",".join([e.ts.isoformat(), e.name, e.kind, e.scope, f'"{e.description}"']))
        (tmp / "change_events.csv").write_text("\n".join(lines) + "\n")
        spec = {"name": d.name,
                "records": {"path": "records", "timestamp": d.timestamp, "grain": d.grain,
                            "dimensions": [d.unit, d.group] + [o[0] for o in d.others],
                            "features": [d.driver, d.nuisance, d.flag]},
                "changes": {"path": "change_events.csv"},
                "metrics": [dict(m) for m in d.metrics]}
        if d.rca:
            spec["rca"] = d.rca
        (tmp / "workspace.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        metric_dirs = {m["name"]: ("down" if m["good"] == "up" else "up") for m in d.metrics}
        primary = d.metrics[0]["name"]
        injections = [{**inj, "metrics": [primary] + [m for m in metric_dirs if m != primary],
                       "direction": metric_dirs} for inj in truth_inj]
        truth = {"scenario": scenario, "domain": d.name, "seed": seed, "records": n, "start": t0.isoformat(),
                 "end": (t0 + timedelta(days=d.days)).isoformat(), "injections": injections, "decoys": decoys,
                 "routine": routine}
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return truth
