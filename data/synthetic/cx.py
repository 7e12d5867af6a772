"""The CX scenario generator: food-delivery orders with one injected cause and a written-down answer.

`generate_cx` writes a workspace a user (or a test) can run the whole pipeline on:

- ``orders/part-XXXX.parquet``: one row per order, written chunk by chunk (memory stays bounded);
- ``change_events.csv``: the real change (if the cause has one), decoys and routine events;
- ``workspace.yaml``: the dataset contract (column roles and metrics);
- ``truth.json``: what was injected, where, from when, and which events are decoys.

The orders come from a small structural model: drivers (courier supply, prep time, batching threshold,
out-of-stock rate, ETA model, store platform) cause the outcomes (delivery time, promise, accuracy,
cancellation, support contact, refund). A scenario shifts ONE driver inside a scope from a start time;
the outcomes move only through the model. Every random number is drawn before the scenario is applied,
with fixed shapes, so two scenarios with the same seed share their random numbers: the `none` data is
the exact counterfactual of any other scenario.

Determinism: one `SeedSequence(seed)` spawns a world stream (stores, supply), a plan stream (scope,
start, events), a customer stream, a layout stream (cutting busy days into files) and one child stream
per chunk; the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data.atomic import make_temp_dir, temp_path
from data.errors import UserError

# ----------------------------------------------------------------------------------------------------
# The world: regions, categories, stores, seasonality, courier supply (depends on the seed only)
# ----------------------------------------------------------------------------------------------------

REGIONS = ("north", "south", "east", "west", "central", "coastal")
REGION_SHARE = np.array([0.21, 0.17, 0.18, 0.15, 0.19, 0.10])
REGION_TRAVEL_MINUTES = np.array([14.0, 15.0, 13.5, 16.0, 12.0, 17.0])

CATEGORIES = ("restaurant", "grocery", "convenience", "pharmacy", "alcohol", "flowers")
CATEGORY_SHARE = np.array([0.56, 0.18, 0.12, 0.06, 0.05, 0.03])
CATEGORY_STORES = np.array([210, 60, 45, 25, 15, 12])
CATEGORY_PREP_MINUTES = np.array([14.0, 11.0, 6.0, 7.0, 5.0, 8.0])
CATEGORY_EXTRA_ITEMS = np.array([1.2, 8.0, 2.5, 1.2, 1.5, 0.3])  # items = 1 + Poisson(this)
CATEGORY_OOS_PER_ITEM = np.array([0.004, 0.012, 0.010, 0.008, 0.008, 0.010])
CATEGORY_VALUE = np.array([[10.0, 9.0], [8.0, 5.5], [4.0, 5.0], [6.0, 14.0], [5.0, 18.0], [30.0, 10.0]])

CHANNELS = ("ios", "android", "web")
CHANNEL_SHARE = np.array([0.46, 0.39, 0.15])
BASKET_BUCKETS = ("1", "2-3", "4-6", "7+")
ETA_MODELS = ("v2", "v3")
PLATFORMS = ("legacy", "nextgen")

# Relative orders per hour of day: breakfast lull, lunch and dinner peaks. Weekends: later, fuller.
HOUR_WEIGHT = np.array([0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.35, 0.55, 0.60, 0.75, 1.30,
                        1.90, 1.50, 0.90, 0.75, 0.85, 1.30, 2.00, 2.20, 1.60, 1.00, 0.60, 0.35])
WEEKEND_HOUR_FACTOR = np.array([1.3, 1.3, 1.2, 1.0, 1.0, 0.8, 0.6, 0.6, 0.8, 1.1, 1.3, 1.2,
                                1.15, 1.25, 1.3, 1.2, 1.1, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.3])
WEEKDAY_WEIGHT = np.array([0.93, 0.90, 0.94, 0.98, 1.10, 1.20, 1.14])  # Monday first

DEFAULT_BATCHING_THRESHOLD = 2
MAX_BATCHING_THRESHOLD = 6
ROWS_PER_CHUNK = 400_000  # target rows per Parquet file (bounds memory: about 1 kB per row while generating)


@dataclass(frozen=True, eq=False)
class World:
    """Everything about the marketplace that does not depend on the scenario or the number of orders."""

    days: int
    store_ids: np.ndarray  # str, "s0001".."s0367"
    store_region: np.ndarray  # int index into REGIONS
    store_category: np.ndarray  # int index into CATEGORIES
    store_prob: np.ndarray  # share of orders
    store_prep_minutes: np.ndarray  # historical mean prep time
    store_oos: np.ndarray  # out-of-stock probability per item
    store_platform: np.ndarray  # int index into PLATFORMS
    day_weight: np.ndarray  # (days,) relative orders per day
    hour_weight: np.ndarray  # (days, 24) relative orders per hour within each day
    supply: np.ndarray  # (days*24, regions) couriers available / demand
    typical_supply: np.ndarray  # (days*24, regions) the same without noise: what the ETA model expects

    def store_rank(self) -> np.ndarray:
        """Store indices from the busiest to the quietest."""
        return np.argsort(-self.store_prob, kind="stable")

    def region_stores(self, region: int) -> np.ndarray:
        return np.flatnonzero(self.store_region == region)


def build_world(days: int, start: date, rng: np.random.Generator) -> World:
    """Stores (each in one region and one category, Zipf-like volumes), seasonality and courier supply."""
    regions, categories = [], []
    for c, n_cat in enumerate(CATEGORY_STORES):
        per_region = np.maximum(1, np.round(n_cat * REGION_SHARE)).astype(int)
        for r, n in enumerate(per_region):
            regions += [r] * n
            categories += [c] * n
    order = rng.permutation(len(regions))  # store numbers do not reveal region or category
    store_region = np.asarray(regions)[order]
    store_category = np.asarray(categories)[order]
    n_stores = len(store_region)

    prob = np.empty(n_stores)
    for r in range(len(REGIONS)):
        for c in range(len(CATEGORIES)):
            cell = np.flatnonzero((store_region == r) & (store_category == c))
            zipf = np.arange(1, len(cell) + 1) ** -1.1
            prob[cell] = REGION_SHARE[r] * CATEGORY_SHARE[c] * rng.permutation(zipf) / zipf.sum()
    prob /= prob.sum()

    prep = CATEGORY_PREP_MINUTES[store_category] * np.exp(rng.normal(0.0, 0.22, n_stores))
    oos = CATEGORY_OOS_PER_ITEM[store_category] * np.exp(rng.normal(0.0, 0.35, n_stores))
    platform = (rng.random(n_stores) < 0.2).astype(np.int8)

    weekday = (np.arange(days) + start.weekday()) % 7
    day_weight = WEEKDAY_WEIGHT[weekday] * (1 + 0.002 * np.arange(days)) * np.exp(rng.normal(0, 0.03, days))
    weekend = weekday >= 5
    hour_weight = np.where(weekend[:, None], HOUR_WEIGHT * WEEKEND_HOUR_FACTOR, HOUR_WEIGHT)
    hour_weight = hour_weight / hour_weight.sum(axis=1, keepdims=True)

    demand = (hour_weight * day_weight[:, None]).ravel()
    demand = demand / demand.max()
    base = rng.uniform(1.2, 1.45, len(REGIONS))
    typical = base[None, :] * (1.0 - 0.42 * demand[:, None])
    noise = np.empty_like(typical)
    shocks = rng.normal(0.0, 0.06 * np.sqrt(1 - 0.8**2), typical.shape)
    level = rng.normal(0.0, 0.06, len(REGIONS))
    for h in range(len(noise)):  # AR(1) over hours; days*24 steps of a 6-vector
        level = 0.8 * level + shocks[h]
        noise[h] = level
    supply = typical * np.exp(noise)
    return World(
        days=days,
        store_ids=np.array([f"s{i + 1:04d}" for i in range(n_stores)]),
        store_region=store_region,
        store_category=store_category,
        store_prob=prob,
        store_prep_minutes=prep,
        store_oos=oos,
        store_platform=platform,
        day_weight=day_weight,
        hour_weight=hour_weight,
        supply=supply,
        typical_supply=typical,
    )


# ----------------------------------------------------------------------------------------------------
# Scopes, effects, events, injections: what a scenario does
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A set of slices: all rows whose ``key`` column takes one of ``values`` (``key="*"``: everything)."""

    key: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "*" if self.key == "*" else ";".join(f"{self.key}={v}" for v in self.values)


EVERYWHERE = Scope("*")


@dataclass(frozen=True)
class Effect:
    """Shift one driver in a scope from a time on: ``driver op value`` (op: set, scale, add)."""

    driver: str
    op: str
    value: float
    scope: Scope
    start_s: int  # seconds since the period start


@dataclass(frozen=True)
class ChangeEvent:
    ts_s: int  # seconds since the period start
    name: str
    kind: str
    scope: Scope
    description: str


@dataclass(frozen=True)
class Wave:
    """One step of a staged rollout (platform migration)."""

    name: str
    start_s: int
    stores: tuple[str, ...]


@dataclass(frozen=True)
class Injection:
    """One real cause: the metrics it moves, where, from when, and which driver and event carry it."""

    metrics: tuple[str, ...]  # primary first
    direction: tuple[tuple[str, str], ...]  # (metric, "up" | "down")
    start_s: int
    scope: Scope
    hypothesis: str
    change_event: str | None
    feature: str | None
    effects: tuple[Effect, ...]
    waves: tuple[Wave, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A scenario resolved for one seed: the injections and every change event written to the log."""

    injections: tuple[Injection, ...]
    events: tuple[ChangeEvent, ...]
    decoys: tuple[str, ...]
    routine: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """A named cause. ``plan`` decides scope, effects and the real event from the plan stream."""

    name: str
    description: str
    plan: Callable[[World, np.random.Generator, int], tuple[tuple[Injection, ...], tuple[ChangeEvent, ...]]]
    twin_decoy: tuple[str, str, str]  # (name, kind, description) of the decoy logged in the same hour


HOUR = 3600
DAY = 24 * HOUR


def _region_scope(regions) -> Scope:
    return Scope("region", tuple(REGIONS[r] for r in sorted(regions)))


def _pick_regions(rng: np.random.Generator, k: int, lo: float = 0.10, hi: float = 0.35) -> tuple[int, ...]:
    """k regions whose joint share of orders is a minority between lo and hi."""
    from itertools import combinations

    options = [c for c in combinations(range(len(REGIONS)), k) if lo <= REGION_SHARE[list(c)].sum() <= hi]
    return options[int(rng.integers(len(options)))]


def _plan_batching(world: World, rng: np.random.Generator, start_s: int):
    scope = _region_scope(_pick_regions(rng, 2))
    event = ChangeEvent(start_s, "batching_threshold_4", "policy", scope,
                        "max orders per courier trip raised from 2 to 4 to cut courier cost")
    injection = Injection(
        metrics=("on_time_rate", "item_accuracy", "courier_minutes_per_order", "avg_delivery_minutes", "cx_score"),
        direction=(("on_time_rate", "down"), ("item_accuracy", "down"), ("courier_minutes_per_order", "down"),
                   ("avg_delivery_minutes", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="policy_change", change_event=event.name,
        feature="batching_threshold", effects=(Effect("batching", "set", 4, scope, start_s),))
    return (injection,), (event,)


def _plan_courier_shortage(world: World, rng: np.random.Generator, start_s: int):
    scope = _region_scope(_pick_regions(rng, 1))
    drop = float(rng.uniform(0.70, 0.76))
    injection = Injection(
        metrics=("on_time_rate", "avg_delivery_minutes", "cancellation_rate", "support_rate", "cx_score"),
        direction=(("on_time_rate", "down"), ("avg_delivery_minutes", "up"), ("cancellation_rate", "up"),
                   ("support_rate", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="supply", change_event=None,
        feature="courier_supply_ratio", effects=(Effect("supply", "scale", drop, scope, start_s),))
    return (injection,), ()


def _plan_merchant_prep(world: World, rng: np.random.Generator, start_s: int):
    candidates = world.store_rank()[3:25]
    stores = np.sort(rng.choice(candidates, size=int(rng.integers(2, 5)), replace=False))
    scope = Scope("store_id", tuple(world.store_ids[stores]))
    event = ChangeEvent(start_s, "menu_overhaul_" + "_".join(world.store_ids[stores]), "merchant", scope,
                        "new made-to-order menu at a few partner kitchens")
    effects = tuple(Effect("prep_minutes", "add", float(rng.uniform(9, 13)), Scope("store_id", (s,)), start_s)
                    for s in scope.values)
    injection = Injection(
        metrics=("avg_delivery_minutes", "on_time_rate", "cancellation_rate", "support_rate", "cx_score"),
        direction=(("avg_delivery_minutes", "up"), ("on_time_rate", "down"), ("cancellation_rate", "up"),
                   ("support_rate", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="merchant", change_event=event.name, feature="prep_minutes",
        effects=effects)
    return (injection,), (event,)


def _plan_inventory_oos(world: World, rng: np.random.Generator, start_s: int):
    scope = Scope("category", ("grocery",))
    event = ChangeEvent(start_s, "supplier_switch_grocery", "inventory", scope,
                        "grocery assortment moved to a new wholesale supplier")
    injection = Injection(
        metrics=("item_accuracy", "cancellation_rate", "refund_per_order", "support_rate", "cx_score"),
        direction=(("item_accuracy", "down"), ("cancellation_rate", "up"), ("refund_per_order", "up"),
                   ("support_rate", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="inventory", change_event=event.name, feature="oos_rate",
        effects=(Effect("oos", "scale", float(rng.uniform(4.5, 5.5)), scope, start_s),))
    return (injection,), (event,)


def _plan_eta_regression(world: World, rng: np.random.Generator, start_s: int):
    scope = _region_scope(_pick_regions(rng, 1))
    event = ChangeEvent(start_s, "eta_model_v3", "model", scope, "ETA model v3 rolled out (retrained on new features)")
    injection = Injection(
        metrics=("on_time_rate", "support_rate", "cx_score"),
        direction=(("on_time_rate", "down"), ("support_rate", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="model_regression", change_event=event.name, feature="eta_model",
        effects=(Effect("eta_model", "set", 1, scope, start_s),))
    return (injection,), (event,)


def _plan_platform_migration(world: World, rng: np.random.Generator, start_s: int):
    region = _pick_regions(rng, 1)[0]
    scope = _region_scope([region])
    legacy = world.region_stores(region)
    legacy = rng.permutation(legacy[world.store_platform[legacy] == 0])
    n_waves = int(rng.integers(3, 5))
    room = world.days * DAY - DAY - start_s  # the last wave starts at least a day before the end
    gaps = rng.integers(1, 3, n_waves - 1) * DAY + rng.integers(-2, 3, n_waves - 1) * HOUR
    while gaps.sum() > room:
        gaps = np.maximum(gaps - DAY // 2, HOUR * 12)
    starts = start_s + np.concatenate([[0], np.cumsum(gaps)])
    waves, events, effects = [], [], []
    for i, (part, ts) in enumerate(zip(np.array_split(legacy, n_waves), starts, strict=True)):
        stores = tuple(sorted(world.store_ids[part]))
        wave_scope = Scope("store_id", stores)
        name = f"platform_migration_{REGIONS[region]}_wave_{i + 1}"
        waves.append(Wave(name, int(ts), stores))
        events.append(ChangeEvent(int(ts), name, "migration", wave_scope,
                                  f"wave {i + 1}/{n_waves}: {len(stores)} stores moved from legacy to nextgen"))
        effects += [Effect("platform", "set", 1, wave_scope, int(ts)),
                    Effect("sync_bug", "set", 1, wave_scope, int(ts))]
    injection = Injection(
        metrics=("item_accuracy", "support_rate", "refund_per_order", "cx_score"),
        direction=(("item_accuracy", "down"), ("support_rate", "up"), ("refund_per_order", "up"), ("cx_score", "down")),
        start_s=start_s, scope=scope, hypothesis="migration", change_event=events[0].name, feature="platform",
        effects=tuple(effects), waves=tuple(waves))
    return (injection,), tuple(events)


def _plan_none(world: World, rng: np.random.Generator, start_s: int):
    return (), ()


SCENARIOS: Mapping[str, Scenario] = {s.name: s for s in (
    Scenario("batching_policy", "batching threshold 2->4 in two regions", _plan_batching,
             ("max_delivery_radius_6km", "policy", "delivery radius capped at 6 km")),
    Scenario("courier_shortage", "courier supply drops in one region (no event logged)", _plan_courier_shortage,
             ("courier_incentive_update", "supply", "peak-hour courier incentive recalibrated")),
    Scenario("merchant_prep", "prep time jumps at a few large stores", _plan_merchant_prep,
             ("menu_photos_refresh", "merchant", "menu photos refreshed")),
    Scenario("inventory_oos", "out-of-stock rate rises in grocery after a supplier switch", _plan_inventory_oos,
             ("supplier_switch_pharmacy", "inventory", "pharmacy assortment moved to a new distributor")),
    Scenario("eta_model_regression", "ETA model v3 under-estimates delivery time in one region", _plan_eta_regression,
             ("ranking_model_v5", "model", "store ranking model v5")),
    Scenario("platform_migration", "one region's stores migrate to a buggy order platform in waves",
             _plan_platform_migration, ("pos_tablet_firmware_2_3", "migration", "store tablet firmware 2.3")),
    Scenario("none", "nothing real: decoy and routine events only", _plan_none,
             ("checkout_redesign", "experiment", "checkout page redesign")),
)}

_ROUTINE = (
    ("weekend_promo", "promotion", "region", "free delivery on weekend evenings"),
    ("menu_update", "merchant", "store_id", "seasonal menu update"),
    ("service_fee_test", "pricing", "*", "service fee A/B test"),
    ("web_release", "release", "channel", "web app release"),
    ("support_macro_update", "operations", "*", "support reply templates updated"),
    ("courier_app_release", "release", "*", "courier app release"),
    ("loyalty_campaign", "promotion", "category", "loyalty points campaign"),
    ("store_onboarding", "merchant", "region", "new stores onboarded"),
)


def _other_region_scope(rng: np.random.Generator, taken: Scope) -> Scope:
    free = [r for r, name in enumerate(REGIONS) if not (taken.key == "region" and name in taken.values)]
    return Scope("region", (REGIONS[free[int(rng.integers(len(free)))]],))


def plan_scenario(scenario: Scenario, world: World, rng: np.random.Generator) -> Plan:
    """Start time, injections, the real event, decoys (same hour, other scope; one global) and routine events."""
    start_s = (world.days // 2) * DAY + int(rng.integers(8, 15)) * HOUR
    injections, real_events = scenario.plan(world, rng, start_s)
    taken = injections[0].scope if injections else Scope("region", ())
    if taken.key == "region":
        twin_scope = _other_region_scope(rng, taken)
    elif taken.key == "category":
        twin_scope = Scope("category", ("pharmacy",))
    else:  # stores: the twin names other large stores
        others = [s for s in world.store_ids[world.store_rank()[:40]] if s not in taken.values]
        twin_scope = Scope("store_id", tuple(sorted(rng.choice(others, 3, replace=False))))
    name, kind, text = scenario.twin_decoy
    twin = ChangeEvent(start_s + int(rng.integers(0, 46)) * 60, name, kind, twin_scope, text)
    release = ChangeEvent(start_s - int(rng.integers(3, 21)) * HOUR, f"ios_app_6.{int(rng.integers(2, 9))}.0",
                          "release", EVERYWHERE, "iOS app release (new tracking screen)")
    decoys = (twin, release)

    routine = []
    n_routine = int(rng.integers(6, 9))
    picks = rng.choice(len(_ROUTINE), n_routine, replace=False)
    for i, pick in enumerate(sorted(picks)):
        base, kind, key, text = _ROUTINE[pick]
        ts = int(rng.integers(0, world.days)) * DAY + int(rng.integers(7, 22)) * HOUR + int(rng.integers(0, 60)) * 60
        if key == "region":
            scope = Scope("region", (REGIONS[int(rng.integers(len(REGIONS)))],))
        elif key == "store_id":
            scope = Scope("store_id", (str(world.store_ids[int(rng.integers(len(world.store_ids)))]),))
        elif key == "channel":
            scope = Scope("channel", ("web",))
        elif key == "category":
            scope = Scope("category", (CATEGORIES[int(rng.integers(len(CATEGORIES)))],))
        else:
            scope = EVERYWHERE
        routine.append(ChangeEvent(ts, f"{base}_{i + 1}", kind, scope, text))
    events = tuple(sorted(real_events + decoys + tuple(routine), key=lambda e: (e.ts_s, e.name)))
    return Plan(injections, events, tuple(e.name for e in decoys), tuple(e.name for e in routine))


# ----------------------------------------------------------------------------------------------------
# Orders: chunked, vectorized; drivers -> outcomes
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Chunk:
    """The orders of one Parquet file: whole days, or a range of hours of one busy day."""

    index: int
    days: np.ndarray  # day numbers covered
    counts: np.ndarray  # orders per covered day
    first_id: int
    hours: tuple[int, int] = (0, 24)  # [first, last) hour of day covered

    @property
    def orders(self) -> int:
        return int(self.counts.sum())


def orders_per_day(world: World, orders: int) -> np.ndarray:
    """Exactly ``orders`` spread over the days by the day weights (largest remainder, no randomness)."""
    expected = orders * world.day_weight / world.day_weight.sum()
    counts = np.floor(expected).astype(np.int64)
    short = orders - int(counts.sum())
    counts[np.argsort(-(expected - counts), kind="stable")[:short]] += 1
    return counts


def plan_chunks(world: World, per_day: np.ndarray, rng: np.random.Generator, rows_per_chunk: int) -> list[Chunk]:
    """Whole days grouped into chunks of about ``rows_per_chunk`` orders (at most a week per chunk).

    A day with more orders than that is cut into ranges of hours of about equal volume; the orders of
    the day are spread over the ranges multinomially, so hourly counts keep their randomness.
    """
    span = int(np.clip(rows_per_chunk // max(1.0, per_day.mean()), 1, 7))
    pieces = []
    for lo in range(0, len(per_day), span):
        days = np.arange(lo, min(lo + span, len(per_day)))
        if len(days) == 1 and per_day[lo] > rows_per_chunk:
            pieces += _split_day(world.hour_weight[lo], lo, int(per_day[lo]), rows_per_chunk, rng)
        else:
            pieces.append((days, per_day[days], (0, 24)))
    chunks, first = [], 0
    for i, (days, counts, hours) in enumerate(pieces):
        chunks.append(Chunk(i, days, counts, first, hours))
        first += int(counts.sum())
    return chunks


def _split_day(weight: np.ndarray, day: int, orders: int, rows_per_chunk: int, rng: np.random.Generator):
    parts = min(24, -(-orders // rows_per_chunk))
    cuts = np.searchsorted(np.cumsum(weight), np.arange(1, parts) / parts) + 1
    bounds = [0, *np.unique(np.clip(cuts, 1, 23)).tolist(), 24]
    ranges = list(zip(bounds, bounds[1:]))
    mass = np.array([weight[a:b].sum() for a, b in ranges])
    counts = rng.multinomial(orders, mass / mass.sum())
    return [(np.array([day]), np.array([c]), r) for r, c in zip(ranges, counts, strict=True)]


@dataclass(frozen=True, eq=False)
class Customers:
    """Each region's customers with a skewed order rate: many one-off customers, a few weekly regulars."""

    cumulative_rate: tuple[np.ndarray, ...]  # per region

    def sample(self, region: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Customer ids (region-prefixed int64) for orders in ``region``, from uniforms ``u``."""
        ids = np.empty(len(region), np.int64)
        for r, cum in enumerate(self.cumulative_rate):
            rows = region == r
            idx = np.minimum(np.searchsorted(cum, u[rows] * cum[-1], side="right"), len(cum) - 1)
            ids[rows] = (r + 1) * 100_000_000 + idx
        return ids


def build_customers(orders: int, rng: np.random.Generator, orders_per_customer: float = 5.0) -> Customers:
    pools = np.maximum(1, np.round(orders * REGION_SHARE / orders_per_customer)).astype(np.int64)
    return Customers(tuple(np.cumsum(rng.gamma(0.5, 1.0, n)) for n in pools))


def _sample_times(world: World, chunk: Chunk, rng: np.random.Generator) -> np.ndarray:
    """Seconds since the period start, sorted, following each day's hour profile within the chunk's hours."""
    first, last = chunk.hours
    width = last - first
    weight = world.hour_weight[chunk.days, first:last]
    weight = weight / weight.sum(axis=1, keepdims=True)
    local = np.repeat(np.arange(len(chunk.days)), chunk.counts)
    # the chunk's k-th day occupies [k, k + 1) on one axis: one search places every order in its day's profile
    edges = (np.arange(len(chunk.days))[:, None] + np.cumsum(weight, axis=1)).ravel()
    slot = np.searchsorted(edges, local + rng.random(len(local)), side="right")
    slot = np.clip(slot, local * width, local * width + width - 1)
    hour = first + slot - local * width
    return np.sort(chunk.days[local] * DAY + hour * HOUR + rng.integers(0, HOUR, len(local)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class _Cohorts:
    t: np.ndarray
    store: np.ndarray
    region: np.ndarray
    category: np.ndarray
    items: np.ndarray

    def mask(self, scope: Scope, world: World) -> np.ndarray:
        if scope.key == "*":
            return np.ones(len(self.t), bool)
        if scope.key == "region":
            return np.isin(self.region, [REGIONS.index(v) for v in scope.values])
        if scope.key == "category":
            return np.isin(self.category, [CATEGORIES.index(v) for v in scope.values])
        if scope.key == "store_id":
            return np.isin(self.store, np.searchsorted(world.store_ids, scope.values))
        raise ValueError(f"scope key {scope.key!r} cannot carry an effect")


def _apply_effects(drivers: dict[str, np.ndarray], effects, cohorts: _Cohorts, world: World) -> None:
    for e in effects:
        where = (cohorts.t >= e.start_s) & cohorts.mask(e.scope, world)
        arr = drivers[e.driver]
        if e.op == "set":
            arr[where] = e.value
        elif e.op == "scale":
            arr[where] *= e.value
        elif e.op == "add":
            arr[where] += e.value
        else:
            raise ValueError(f"unknown effect op {e.op!r}")


def _batch_extra(batching: np.ndarray, p_batch: np.ndarray, u_batch: np.ndarray) -> np.ndarray:
    """Orders sharing the trip besides this one: Binomial(threshold - 1, p) from fixed uniforms."""
    slots = np.arange(u_batch.shape[0])[:, None] < (batching - 1)[None, :]
    return ((u_batch < p_batch[None, :]) & slots).sum(axis=0)


def _timestamps(epoch_s: int, seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array((epoch_s + seconds) * 1_000_000, type=pa.int64(), mask=mask).cast(pa.timestamp("us"))


def _strings(names, index: np.ndarray) -> pa.Array:
    return pa.array(list(names), type=pa.string()).take(pa.array(index.astype(np.int32)))


ORDER_SCHEMA = pa.schema([
    ("order_id", pa.int64()), ("created_at", pa.timestamp("us")), ("customer_id", pa.int64()),
    ("hour_of_day", pa.int32()),
    ("region", pa.string()), ("store_id", pa.string()), ("category", pa.string()),
    ("basket_bucket", pa.string()), ("channel", pa.string()),
    ("courier_supply_ratio", pa.float64()), ("prep_minutes", pa.float64()), ("batching_threshold", pa.int32()),
    ("oos_rate", pa.float64()), ("eta_model", pa.string()), ("platform", pa.string()),
    ("promised_at", pa.timestamp("us")), ("delivered_at", pa.timestamp("us")),
    ("delivery_minutes", pa.float64()), ("courier_minutes", pa.float64()),
    ("item_accurate", pa.bool_()), ("substituted", pa.bool_()), ("cancelled", pa.bool_()),
    ("refund_amount", pa.float64()), ("support_contact", pa.bool_()), ("order_value", pa.float64()),
])


def generate_chunk(world: World, plan: Plan, chunk: Chunk, customers: Customers, rng: np.random.Generator,
                   epoch_s: int) -> pa.Table:
    """The orders of one chunk as an Arrow table (schema ``ORDER_SCHEMA``), sorted by ``created_at``."""
    t = _sample_times(world, chunk, rng)
    n = len(t)
    store = np.minimum(np.searchsorted(np.cumsum(world.store_prob), rng.random(n), side="right"),
                       len(world.store_prob) - 1)
    region, category = world.store_region[store], world.store_category[store]
    channel = np.searchsorted(np.cumsum(CHANNEL_SHARE), rng.random(n) * CHANNEL_SHARE.sum(), side="right")
    customer = customers.sample(region, rng.random(n))
    items = 1 + rng.poisson(CATEGORY_EXTRA_ITEMS[category])
    z_prep, z_travel, z_leg, z_wait, z_value = rng.standard_normal((5, n))
    (u_assign, u_pos, u_oos, u_sub, u_badsub, u_handling, u_cancel, u_support, u_refund) = rng.random((9, n))
    u_batch = rng.random((MAX_BATCHING_THRESHOLD - 1, n))

    # drivers, then the scenario's shifts
    hour_idx = t // HOUR
    drivers = {
        "supply": world.supply[hour_idx, region].copy(),
        "prep_minutes": world.store_prep_minutes[store].copy(),
        "batching": np.full(n, DEFAULT_BATCHING_THRESHOLD, np.int64),
        "oos": world.store_oos[store].copy(),
        "eta_model": np.zeros(n, np.int64),
        "platform": world.store_platform[store].astype(np.int64),
        "sync_bug": np.zeros(n, np.int64),
    }
    cohorts = _Cohorts(t, store, region, category, items)
    _apply_effects(drivers, [e for inj in plan.injections for e in inj.effects], cohorts, world)
    supply, batching, oos = drivers["supply"], drivers["batching"], drivers["oos"]
    sync_bug = drivers["sync_bug"].astype(bool)

    # delivery: prep, courier assignment delay (worse when supply is short), batch partners, travel, handoff
    prep = drivers["prep_minutes"] * np.exp(0.25 * z_prep - 0.03125) + 0.25 * (items - 1)
    assign = -np.log1p(-u_assign) * 2.0 * supply**-2
    p_batch = np.clip(0.22 + 0.4 * (1.2 - supply), 0.05, 0.7)
    extra = _batch_extra(batching, p_batch, u_batch)
    batch_wait = extra * 2.2 * np.exp(0.4 * z_wait - 0.08)
    stops_before = np.floor(u_pos * (extra + 1))
    leg = 6.0 * np.exp(0.3 * z_leg - 0.045)
    travel = REGION_TRAVEL_MINUTES[region] * np.exp(0.28 * z_travel - 0.0392)
    handoff = 1.5 + 0.1 * items
    minutes = prep + assign + batch_wait + travel + 4.0 * stops_before + handoff
    courier = (leg + travel + 4.0 * extra) / (extra + 1) + handoff

    # the promise: the ETA model's estimate from what it knows (historical prep, typical supply, threshold 2)
    typical = world.typical_supply[hour_idx, region]
    p_typical = np.clip(0.22 + 0.4 * (1.2 - typical), 0.05, 0.7) * (DEFAULT_BATCHING_THRESHOLD - 1)
    eta = (world.store_prep_minutes[store] + 0.25 * (items - 1) + 2.0 * typical**-2 + 2.2 * p_typical
           + 2.0 * p_typical + REGION_TRAVEL_MINUTES[region] + handoff)
    eta = np.where(drivers["eta_model"] == 1, 0.91 * eta, eta)
    promised_s = np.ceil(eta + 8.0) * 60
    delivered_s = np.round(minutes * 60)
    late = (delivered_s - promised_s) / 60.0

    # items: out of stock -> substitution or a missing item; handling mix-ups grow with batching; sync bug
    any_oos = u_oos < 1.0 - (1.0 - np.minimum(oos, 0.9)) ** items
    substituted = any_oos & (u_sub < 0.65)
    missing = any_oos & ~substituted
    bad_sub = substituted & (u_badsub < 0.12)
    mixup = u_handling < 0.012 + 0.022 * extra + 0.09 * sync_bug
    accurate = ~(missing | bad_sub | mixup)

    cancelled = u_cancel < _sigmoid(-3.85 + 0.07 * np.clip(late, 0, 60) + 0.08 * assign + 1.6 * missing)
    support = u_support < _sigmoid(-3.5 + 0.9 * (late > 0) + 0.04 * np.clip(late, 0, 60) + 2.2 * ~accurate
                                   + 0.4 * substituted + 2.0 * cancelled + 0.8 * sync_bug)
    value = (CATEGORY_VALUE[category, 0] + CATEGORY_VALUE[category, 1] * items) * np.exp(0.25 * z_value - 0.03125)
    value = np.round(value, 2)
    refund = np.select(
        [cancelled, ~accurate & (u_refund < 0.8), (late > 10) & (u_refund < 0.5)],
        [value * (u_refund < 0.9), value * np.minimum(0.6, 1.2 / items), 0.2 * value], 0.0)
    refund = np.round(refund, 2)

    bucket = np.searchsorted(np.array([1, 3, 6]), items, side="left")
    columns = [
        pa.array(chunk.first_id + 1 + np.arange(n, dtype=np.int64)),
        _timestamps(epoch_s, t),
        pa.array(customer.astype(np.int64)),
        pa.array(((t % DAY) // HOUR).astype(np.int32)),
        _strings(REGIONS, region), _strings(world.store_ids, store), _strings(CATEGORIES, category),
        _strings(BASKET_BUCKETS, bucket), _strings(CHANNELS, channel),
        pa.array(np.round(supply, 3)), pa.array(np.round(prep, 1)), pa.array(batching.astype(np.int32)),
        pa.array(np.round(oos, 4)), _strings(ETA_MODELS, drivers["eta_model"]),
        _strings(PLATFORMS, drivers["platform"]),
        _timestamps(epoch_s, t + promised_s.astype(np.int64)),
        _timestamps(epoch_s, t + delivered_s.astype(np.int64), mask=cancelled),
        pa.array(np.round(delivered_s / 60.0, 2), mask=cancelled),
        pa.array(np.round(courier, 2), mask=cancelled),
        pa.array(accurate, mask=cancelled), pa.array(substituted, mask=cancelled), pa.array(cancelled),
        pa.array(refund), pa.array(support), pa.array(value),
    ]
    return pa.Table.from_arrays(columns, schema=ORDER_SCHEMA)


# ----------------------------------------------------------------------------------------------------
# Files: workspace.yaml, change_events.csv, truth.json; the entry point
# ----------------------------------------------------------------------------------------------------

WORKSPACE_YAML = """\
name: cx-fulfillment
records:
  path: orders            # relative to this file; Parquet file, glob or directory
  timestamp: created_at
  grain: hour
  dimensions: [region, store_id, category, basket_bucket, channel]
  features: [courier_supply_ratio, prep_minutes, batching_threshold, oos_rate, eta_model, platform]
  entity: customer_id
  id: order_id          # unique per order: seeded samples draw by it
  noun: orders
changes:
  path: change_events.csv
metrics:
  - {name: on_time_rate, type: rate, expr: "delivered_at <= promised_at", good: up}
  - {name: item_accuracy, type: rate, expr: "item_accurate", good: up}
  - {name: cancellation_rate, type: rate, expr: "cancelled", good: down}
  - {name: support_rate, type: rate, expr: "support_contact", good: down}
  - {name: refund_per_order, type: ratio, numerator: "refund_amount", denominator: "1", good: down, currency: USD}
  - {name: avg_delivery_minutes, type: mean, expr: "delivery_minutes", good: down, unit: min}
  - {name: courier_minutes_per_order, type: mean, expr: "courier_minutes", good: down, role: efficiency, unit: min}
  - {name: cx_score, type: composite, weights: {on_time_rate: 0.4, item_accuracy: 0.3, cancellation_rate: 0.15, support_rate: 0.15}, good: up}
"""

OUTPUT_NAMES = ("orders", "change_events.csv", "workspace.yaml", "truth.json")


@dataclass(frozen=True)
class GenerationResult:
    """What `generate_cx` wrote."""

    out: Path
    scenario: str
    seed: int
    orders: int
    parts: int
    start: datetime
    end: datetime
    injections: tuple[Injection, ...]
    events: tuple[ChangeEvent, ...]
    truth: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "truth", self.out / "truth.json")


def _iso(start: datetime, seconds: int) -> str:
    return (start + timedelta(seconds=int(seconds))).isoformat()


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def change_events_csv(events, start: datetime) -> str:
    lines = ["ts,name,kind,scope,description"]
    lines += [",".join(_csv_field(x) for x in (_iso(start, e.ts_s), e.name, e.kind, str(e.scope), e.description))
              for e in events]
    return "\n".join(lines) + "\n"


def truth_document(scenario: str, seed: int, orders: int, start: datetime, days: int, plan: Plan) -> dict:
    injections = []
    for inj in plan.injections:
        entry: dict[str, object] = {
            "metrics": list(inj.metrics),
            "direction": dict(inj.direction),
            "start": _iso(start, inj.start_s),
            "scope": str(inj.scope),
            "cause": {"hypothesis": inj.hypothesis, "change_event": inj.change_event, "feature": inj.feature},
        }
        if inj.waves:
            entry["waves"] = [{"name": w.name, "start": _iso(start, w.start_s), "stores": list(w.stores)}
                              for w in inj.waves]
        injections.append(entry)
    return {
        "scenario": scenario, "seed": seed, "orders": orders,
        "start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat(),
        "injections": injections, "decoys": list(plan.decoys), "routine": list(plan.routine),
    }


def _is_previous_output(out: Path) -> bool:
    try:
        truth = json.loads((out / "truth.json").read_text())
    except (OSError, ValueError):
        return False
    is_truth = isinstance(truth, dict) and "scenario" in truth and "injections" in truth
    return is_truth and (out / "workspace.yaml").is_file()


def _check_arguments(orders: int, days: int, scenario: str, out: Path) -> None:
    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")
    if orders < 1:
        raise UserError(f"--orders must be at least 1 (got {orders})")
    if days < 7:
        raise UserError(f"--days must be at least 7 (got {days}): a week of history is needed for seasonality")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not _is_previous_output(out):
        raise UserError(f"{out}: directory is not empty and is not a previous generator output; choose another --out")


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out``, replacing a previous output only once the new one is complete."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = temp_path(out)
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def generate_cx(orders: int, days: int, seed: int, scenario: str, out: Path | str,
                start: date | datetime | str = "2026-01-01",
                progress: Callable[[int], None] | None = None) -> GenerationResult:
    """Write a CX workspace with ``orders`` orders over ``days`` days and the ``scenario``'s cause to ``out``.

    ``progress`` (optional) is called with the number of orders written after each chunk.
    Raises `UserError` for bad arguments; leaves nothing half-written behind on failure.
    """
    out = Path(out)
    _check_arguments(orders, days, scenario, out)
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError:
            raise UserError(f"--start must be a date like 2026-01-01 (got {start!r})") from None
    start = datetime(start.year, start.month, start.day)
    if seed < 0:
        raise UserError(f"--seed must be 0 or more (got {seed})")
    try:
        start + timedelta(days=days + 1)
    except OverflowError:
        raise UserError(f"--start {start:%Y-%m-%d} with --days {days} runs past the last date (9999-12-31)") from None
    epoch_s = int((start - datetime(1970, 1, 1)).total_seconds())

    world_ss, plan_ss, chunks_ss, customers_ss, layout_ss = np.random.SeedSequence(seed).spawn(5)
    world = build_world(days, start.date(), np.random.default_rng(world_ss))
    plan = plan_scenario(SCENARIOS[scenario], world, np.random.default_rng(plan_ss))
    chunks = plan_chunks(world, orders_per_day(world, orders), np.random.default_rng(layout_ss), ROWS_PER_CHUNK)
    customers = build_customers(orders, np.random.default_rng(customers_ss))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, out.name)
    try:
        (tmp / "orders").mkdir()
        streams = chunks_ss.spawn(len(chunks))
        done = 0
        for chunk, ss in zip(chunks, streams, strict=True):
            table = generate_chunk(world, plan, chunk, customers, np.random.default_rng(ss), epoch_s)
            pq.write_table(table, tmp / "orders" / f"part-{chunk.index:04d}.parquet", compression="zstd")
            done += chunk.orders
            del table
            if progress is not None:
                progress(done)
        (tmp / "change_events.csv").write_text(change_events_csv(plan.events, start))
        (tmp / "workspace.yaml").write_text(WORKSPACE_YAML)
        truth = truth_document(scenario, seed, orders, start, days, plan)
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return GenerationResult(out, scenario, seed, orders, len(chunks), start, start + timedelta(days=days),
                            plan.injections, plan.events)
