"""A small structural world with a known answer: a batching-like threshold raised 2 → 4 in two regions.

Drivers: courier supply (region × hour AR shocks), prep minutes, the threshold, an app version.
Outcomes: on time (logistic), delivery minutes, courier minutes (batching lowers them), cancelled.
`true_effects` gives the exact expected change of each metric if the threshold went back to 2 in the
treated scope over the evaluation records (true probabilities, not draws).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REGIONS = ("north", "south", "east", "west", "central", "coastal")
TREATED = ("east", "west")
START = datetime(2026, 3, 2)
METRICS = [
    {"name": "on_time_rate", "type": "rate", "expr": "on_time", "good": "up"},
    {"name": "cancellation_rate", "type": "rate", "expr": "cancelled", "good": "down"},
    {"name": "avg_delivery_minutes", "type": "mean", "expr": "delivery_minutes", "good": "down", "unit": "min"},
    {"name": "courier_minutes_per_order", "type": "mean", "expr": "courier_minutes", "good": "down",
     "role": "efficiency", "unit": "min"},
    {"name": "cx_score", "type": "composite", "weights": {"on_time_rate": 0.7, "cancellation_rate": 0.3}, "good": "up"},
]
# structural coefficients
A0, A_SUPPLY, A_THRESH, A_PREP = 1.6, 1.5, -0.35, -0.04
C0, C_THRESH = -3.0, 0.15
M_THRESH, K_THRESH = 2.5, -1.6


@dataclass(frozen=True)
class World:
    frame: pd.DataFrame
    t0: datetime
    days: int


def on_time_logit(f: pd.DataFrame, threshold) -> np.ndarray:
    return (A0 + A_SUPPLY * (f["courier_supply_ratio"] - 1.2) + A_THRESH * (np.asarray(threshold) - 2)
            + A_PREP * (f["prep_minutes"] - 12) + f["_day_shock"] + f["_region_effect"])


def cancel_logit(f: pd.DataFrame, threshold) -> np.ndarray:
    return C0 + C_THRESH * (np.asarray(threshold) - 2) - 0.8 * (f["courier_supply_ratio"] - 1.2)


def simulate(seed: int, orders: int = 6000, days: int = 14, change_day: int = 7, effect: bool = True,
             threshold_mix: bool = False) -> World:
    """Orders over ``days`` days; from day ``change_day`` 10:00 the threshold is 4 in east and west.

    ``threshold_mix`` also varies the threshold at random (2, 3 or 4) everywhere, so a model can learn
    its effect from variation (for what-if tests).
    """
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, days * 86400, orders))
    ts = pd.to_datetime(START) + pd.to_timedelta(t, unit="s")
    region_idx = rng.integers(0, len(REGIONS), orders)
    region = np.array(REGIONS)[region_idx]
    hour_idx = (t // 3600).astype(int)
    day_idx = (t // 86400).astype(int)
    # supply: region level + AR(1) over hours per region
    shocks = np.zeros((days * 24 + 1, len(REGIONS)))
    level = np.zeros(len(REGIONS))
    for h in range(days * 24 + 1):
        level = 0.8 * level + rng.normal(0, 0.05, len(REGIONS))
        shocks[h] = level
    base = rng.uniform(1.1, 1.35, len(REGIONS))
    supply = base[region_idx] * np.exp(shocks[hour_idx, region_idx] + rng.normal(0, 0.05, orders))
    prep = rng.gamma(9, 12 / 9, orders)
    t0 = START + timedelta(days=change_day, hours=10)
    treated = np.isin(region, TREATED) & (ts >= pd.Timestamp(t0))
    threshold = np.where(treated & effect, 4, 2)
    if threshold_mix:
        threshold = rng.choice([2, 3, 4], orders)
    f = pd.DataFrame({"created_at": ts, "region": region, "channel": rng.choice(["ios", "web"], orders),
                      "courier_supply_ratio": supply.round(4), "prep_minutes": prep.round(2),
                      "batching_threshold": threshold.astype(np.int32),
                      "app_version": rng.choice(["a", "b"], orders)})
    f["_day_shock"] = rng.normal(0, 0.08, days + 1)[day_idx]
    f["_region_effect"] = rng.normal(0, 0.15, len(REGIONS))[region_idx]
    p_on = 1 / (1 + np.exp(-on_time_logit(f, threshold)))
    p_cancel = 1 / (1 + np.exp(-cancel_logit(f, threshold)))
    cancelled = rng.random(orders) < p_cancel
    f["cancelled"] = cancelled
    f["on_time"] = pd.array(np.where(cancelled, None, rng.random(orders) < p_on), dtype="boolean")
    minutes = 28 + M_THRESH * (threshold - 2) - 6 * (supply - 1.2) + 0.5 * (prep - 12) + rng.normal(0, 5, orders)
    f["delivery_minutes"] = np.where(cancelled, np.nan, minutes.round(2))
    courier = 18 + K_THRESH * (threshold - 2) + rng.normal(0, 3, orders)
    f["courier_minutes"] = np.where(cancelled, np.nan, courier.round(2))
    f["customer_id"] = rng.integers(0, orders // 3, orders)
    return World(f, t0, days)


def true_rollback_effects(world: World, window: tuple[datetime, datetime], scope=TREATED) -> dict[str, float]:
    """Expected change of each metric if the threshold went back to 2 in ``scope`` over [window)."""
    f = world.frame
    sel = f["region"].isin(scope) & (f["created_at"] >= pd.Timestamp(window[0])) & \
        (f["created_at"] < pd.Timestamp(window[1]))
    g = f[sel]
    now, then = g["batching_threshold"].to_numpy(), np.full(len(g), 2)
    counted = ~g["cancelled"].to_numpy()
    p_now = 1 / (1 + np.exp(-on_time_logit(g, now)))
    p_then = 1 / (1 + np.exp(-on_time_logit(g, then)))
    c_now = 1 / (1 + np.exp(-cancel_logit(g, now)))
    c_then = 1 / (1 + np.exp(-cancel_logit(g, then)))
    out = {
        "on_time_rate": float((p_then - p_now)[counted].mean()),
        "cancellation_rate": float((c_then - c_now).mean()),
        "avg_delivery_minutes": float((M_THRESH * (then - now))[counted].mean()),
        "courier_minutes_per_order": float((K_THRESH * (then - now))[counted].mean()),
    }
    out["cx_score"] = 0.7 * out["on_time_rate"] - 0.3 * out["cancellation_rate"]
    return out


def write(world: World, folder: Path, recommendations: dict | None = None, with_event: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders").mkdir(exist_ok=True)
    cols = [c for c in world.frame.columns if not c.startswith("_")]
    world.frame[cols].to_parquet(folder / "orders" / "part-0.parquet", index=False)
    events = "ts,name,kind,scope,description\n"
    if with_event:
        events += f"{world.t0.isoformat()},batching_threshold_4,policy,region=east;region=west,threshold 2 to 4\n"
    events += f"{(world.t0 - timedelta(days=3)).isoformat()},app_release_7,release,*,routine\n"
    (folder / "changes.csv").write_text(events)
    spec = {"name": "sim", "records": {"path": "orders", "timestamp": "created_at", "grain": "hour",
                                       "dimensions": ["region", "channel"],
                                       "features": ["courier_supply_ratio", "prep_minutes", "batching_threshold",
                                                    "app_version"],
                                       "entity": "customer_id"},
            "changes": {"path": "changes.csv"}, "metrics": METRICS}
    if recommendations is not None:
        spec["recommendations"] = recommendations
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
