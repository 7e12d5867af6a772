"""Small synthetic workspaces with a known causal answer, for the evidence tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

T0 = datetime(2026, 2, 2)


def panel_records(seed: int = 0, days: int = 24, units_per_group: int = 30, groups: int = 4, per_hour: int = 2,
                  effects: dict | None = None, pretrend: float = 0.0) -> pd.DataFrame:
    """Records of ``groups × units_per_group`` units, ``per_hour`` records per unit-hour on average.

    ``effects`` maps a unit-selector to ``(start_day, effect_fn)``: from ``start_day`` on, the outcome of the
    selected units moves by ``effect_fn(days_since_start)``. ``pretrend`` adds a linear drift per day to
    group g0 before day 12 (to break parallel trends).
    """
    rng = np.random.default_rng(seed)
    n_units = groups * units_per_group
    unit_group = np.repeat(np.arange(groups), units_per_group)
    unit_level = rng.normal(0, 1, n_units)
    hours = days * 24
    n = n_units * hours * per_hour
    unit = rng.integers(0, n_units, n)
    hour = rng.integers(0, hours, n)
    day = hour / 24.0
    time_effect = 0.3 * np.sin(2 * np.pi * hour / 24) + 0.02 * day + rng.normal(0, 0.1, hours)[hour]
    y = 5 + unit_level[unit] + time_effect + rng.normal(0, 1, n)
    group = np.array([f"g{g}" for g in range(groups)])[unit_group[unit]]
    names = np.array([f"u{u:03d}" for u in range(n_units)])[unit]
    for selector, (start_day, fn) in (effects or {}).items():
        sel = selector(names, group) & (day >= start_day)
        y = y + np.where(sel, fn(day - start_day), 0.0)
    if pretrend:
        y = y + np.where((group == "g0") & (day < 12), pretrend * (day - 12), 0.0)
    ts = pd.Timestamp(T0) + pd.to_timedelta(hour * 3600 + rng.integers(0, 3600, n), unit="s")
    return pd.DataFrame({"ts": ts, "unit": names, "grp": group, "side": rng.choice(["a", "b"], n),
                         "x": rng.normal(0, 1, n), "y": y})


def write_workspace(folder: Path, records: pd.DataFrame, changes: list[tuple] = (), dims=("unit", "grp", "side"),
                    features=("x",), metrics=None, grain: str = "hour", timestamp: str = "ts", rca: dict | None = None
                    ) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "records").mkdir(exist_ok=True)
    records.to_parquet(folder / "records" / "part-0.parquet", index=False)
    lines = ["ts,name,kind,scope,description"]
    for ts, name, kind, scope in changes:
        lines.append(f"{ts.isoformat()},{name},{kind},{scope},test change")
    (folder / "changes.csv").write_text("\n".join(lines) + "\n")
    spec = {"name": folder.name,
            "records": {"path": "records", "timestamp": timestamp, "grain": grain, "dimensions": list(dims),
                        "features": list(features)},
            "changes": {"path": "changes.csv"},
            "metrics": metrics or [{"name": "y_mean", "type": "mean", "expr": "y", "good": "down"}]}
    if rca:
        spec["rca"] = rca
    path = folder / "workspace.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def at_day(day: float) -> datetime:
    return T0 + timedelta(days=day)
