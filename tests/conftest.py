"""Shared fixtures: a tiny workspace with a known answer, written to a temp folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

TINY_METRICS = [
    {"name": "on_time_rate", "type": "rate", "expr": "delivered_at <= promised_at", "good": "up"},
    {"name": "avg_minutes", "type": "mean", "expr": "minutes", "good": "down"},
    {"name": "refund_per_order", "type": "ratio", "numerator": "refund", "denominator": "1", "good": "down"},
    {"name": "refund_per_item", "type": "ratio", "numerator": "refund", "denominator": "items", "good": "down"},
    {"name": "cancel_rate", "type": "rate", "expr": "cancelled", "good": "down"},
    {"name": "score", "type": "composite", "weights": {"on_time_rate": 0.6, "cancel_rate": 0.4}, "good": "up"},
]


def tiny_records(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Records with nulls in outcomes and in one dimension, over 3 days."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 72 * 60, n), unit="min")
    promised = created + pd.to_timedelta(30, unit="min")
    delivered = created + pd.to_timedelta(rng.normal(28, 6, n).round(), unit="min")
    cancelled = rng.random(n) < 0.1
    delivered = delivered.where(~cancelled)
    region = rng.choice(["north", "south", "east"], n).astype(object)
    region[rng.random(n) < 0.05] = None
    minutes = (delivered - created).total_seconds() / 60
    items = rng.integers(0, 4, n).astype(float)
    refund = np.where(rng.random(n) < 0.2, rng.gamma(2, 5, n), 0.0)
    refund[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "order_id": np.arange(n), "created_at": created, "promised_at": promised, "delivered_at": delivered,
        "region": region, "store": rng.choice(["s1", "s2", "s3", "s4"], n), "channel": rng.choice(["ios", "web"], n),
        "minutes": minutes, "refund": refund, "items": items, "cancelled": cancelled,
        "supply": rng.random(n),
    })


def write_workspace(folder: Path, records: pd.DataFrame | None = None, **overrides) -> Path:
    """Write records as Parquet plus a workspace.yaml; ``overrides`` replace top-level keys."""
    folder.mkdir(parents=True, exist_ok=True)
    records = tiny_records() if records is None else records
    (folder / "orders").mkdir(exist_ok=True)
    records.to_parquet(folder / "orders" / "part-0.parquet", index=False)
    (folder / "changes.csv").write_text(
        "ts,name,kind,scope,description\n"
        "2026-01-02T10:00:00,policy_a,policy,region=north,threshold up\n"
        "2026-01-02T10:00:00,release_9,release,*,app release\n")
    spec = {
        "name": "tiny",
        "records": {"path": "orders", "timestamp": "created_at", "grain": "hour",
                    "dimensions": ["region", "store", "channel"], "features": ["supply"]},
        "changes": {"path": "changes.csv"},
        "metrics": TINY_METRICS,
    }
    spec.update(overrides)
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def tiny_workspace(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws")
