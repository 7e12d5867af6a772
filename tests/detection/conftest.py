"""Fixtures for detection tests: CX-like records with one planted regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REGIONS = np.array(["north", "south", "east", "west", "central", "coastal"])
REGION_SHARE = np.array([0.21, 0.17, 0.18, 0.15, 0.19, 0.10])
CATEGORIES = np.array(["restaurant", "grocery", "convenience"])
CHANNELS = np.array(["ios", "android", "web"])
HOUR_WEIGHT = np.array([0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.35, 0.55, 0.60, 0.75, 1.30,
                        1.90, 1.50, 0.90, 0.75, 0.85, 1.30, 2.00, 2.20, 1.60, 1.00, 0.60, 0.35])

CX_METRICS = [
    {"name": "on_time_rate", "type": "rate", "expr": "delivered_at <= promised_at", "good": "up"},
    {"name": "avg_minutes", "type": "mean", "expr": "minutes", "good": "down"},
    {"name": "cancel_rate", "type": "rate", "expr": "cancelled", "good": "down"},
    {"name": "refund_per_order", "type": "ratio", "numerator": "refund", "denominator": "1", "good": "down"},
    {"name": "score", "type": "composite", "weights": {"on_time_rate": 0.6, "cancel_rate": 0.4}, "good": "up"},
]


def cx_records(orders: int = 120_000, days: int = 28, seed: int = 0, scope: tuple[str, list[str]] | None = None,
               start_day: float = 14.4, late_factor: float = 2.5, minutes_add: float = 6.0) -> pd.DataFrame:
    """Orders with hourly seasonality, region-level AR(1) supply shocks and, optionally, a regression:
    from ``start_day`` on, inside ``scope`` (dimension, values), late deliveries ×``late_factor`` and
    delivery minutes +``minutes_add``."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    weights = np.tile(HOUR_WEIGHT, days) * (1 + 0.1 * (np.arange(hours) // 24 % 7 >= 5))
    hour = np.sort(rng.choice(hours, orders, p=weights / weights.sum()))
    created = pd.Timestamp("2026-01-05") + pd.to_timedelta(hour * 3600 + rng.integers(0, 3600, orders), unit="s")
    stores = pd.DataFrame({"store_id": [f"s{i:03d}" for i in range(60)],
                           "region": REGIONS[np.arange(60) % 6], "category": CATEGORIES[np.arange(60) // 6 % 3]})
    prob = REGION_SHARE[np.arange(60) % 6] * (np.arange(1, 61) ** -0.6)
    store = rng.choice(60, orders, p=prob / prob.sum())
    region_idx = np.arange(60)[store] % 6
    shock = np.zeros((hours, 6))
    eps = rng.normal(0, 0.15 * np.sqrt(1 - 0.8 ** 2), (hours, 6))
    for t in range(1, hours):
        shock[t] = 0.8 * shock[t - 1] + eps[t]
    logit = -2.0 + 0.4 * np.cos(2 * np.pi * (hour % 24) / 24) + shock[hour, region_idx]
    minutes = rng.gamma(9.0, 3.5, orders) + 3 * np.sin(2 * np.pi * (hour % 24) / 24)
    late_p = 1 / (1 + np.exp(-logit))
    if scope is not None:
        dim, values = scope
        column = stores.loc[store, dim].to_numpy()
        hit = np.isin(column, values) & (hour >= start_day * 24)
        late_p = np.where(hit, np.minimum(late_p * late_factor, 0.95), late_p)
        minutes = np.where(hit, minutes + minutes_add, minutes)
    late = rng.random(orders) < late_p
    cancelled = rng.random(orders) < 0.04
    promised = created + pd.to_timedelta(40, unit="min")
    delivered = promised + pd.to_timedelta(np.where(late, 10, -5), unit="min")
    refund = np.where(rng.random(orders) < 0.08 + 0.2 * late, rng.gamma(2.0, 6.0, orders), 0.0)
    return pd.DataFrame({
        "order_id": np.arange(orders), "created_at": created, "promised_at": promised,
        "delivered_at": pd.Series(delivered).where(~cancelled), "minutes": np.where(cancelled, np.nan, minutes),
        "cancelled": cancelled, "refund": refund,
        "region": stores["region"].to_numpy()[store], "store_id": stores["store_id"].to_numpy()[store],
        "category": stores["category"].to_numpy()[store], "channel": rng.choice(CHANNELS, orders, p=[0.46, 0.39, 0.15]),
    })


def cx_workspace(folder: Path, records: pd.DataFrame, detection: dict | None = None) -> Path:
    """A workspace over ``records`` (Parquet) with the CX-like metrics; ``detection`` is its section."""
    (folder / "orders").mkdir(parents=True, exist_ok=True)
    records.to_parquet(folder / "orders" / "part-0.parquet", index=False)
    spec = {
        "name": "cx-test",
        "records": {"path": "orders", "timestamp": "created_at", "grain": "hour",
                    "dimensions": ["region", "store_id", "category", "channel"]},
        "metrics": CX_METRICS,
    }
    if detection is not None:
        spec["detection"] = detection
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
