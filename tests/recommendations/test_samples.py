"""The outcome models' record samples (`recommendations.records.sample_records`): the same rows for the same
data and seed however the scan meets the records (threads, file order), even when many records share a
timestamp or are printed alike, and every record with the same chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.sources import open_workspace
from recommendations.records import sample_records
from tests.detection.conftest import cx_workspace

SELECT = ["CAST(region AS VARCHAR) AS region", "CAST(late AS DOUBLE) AS late", "CAST(hour(created_at) AS VARCHAR) AS h"]


def _records(n: int = 40_000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # 400 distinct timestamps: a hundred records share each, most of them with equal selected values
    created = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 400, n) * 3600, unit="s")
    region = rng.choice(["east", "west", "north", "south"], n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame({"created_at": created, "promised_at": created, "delivered_at": created,
                         "minutes": 30.0, "cancelled": False, "refund": 0.0, "region": region,
                         "store_id": "s1", "category": "c", "channel": "app", "late": rng.random(n) < 0.2})


def _sample(folder, frame: pd.DataFrame, threads: int, files: int = 1) -> pd.DataFrame:
    ws = cx_workspace(folder, frame.iloc[:0])
    (folder / "orders" / "part-0.parquet").unlink()
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        frame.iloc[rows].to_parquet(folder / "orders" / f"part-{k}.parquet", index=False)
    ow = open_workspace(ws)
    ow.con.execute(f"SET threads = {threads}")
    ow.con.execute("SET preserve_insertion_order = false")
    return sample_records(ow, SELECT, "TRUE", 2_000, seed=5)


def test_the_sample_does_not_depend_on_the_scan(tmp_path):
    frame = _records()
    one = _sample(tmp_path / "a", frame, threads=1)
    other = _sample(tmp_path / "b", frame.iloc[::-1], threads=2, files=4)
    assert len(one) == 2_000
    pd.testing.assert_frame_equal(one, other)


def test_every_record_has_the_same_chance(tmp_path):
    # records sharing a timestamp, told apart by an id (records alike in every column but floats share a
    # sample key and are drawn together, a cluster sample: with a hundred of them per key the shares would
    # vary with the seed by several points)
    frame = _records().assign(order_id=np.arange(40_000))
    sample = _sample(tmp_path / "a", frame, threads=2, files=2)
    share = sample["region"].value_counts(normalize=True)
    truth = frame["region"].value_counts(normalize=True)
    # 2,000 independent draws: each share within 3.5 standard errors (at most 0.011 for a share of 0.4)
    assert (share - truth).abs().max() < 0.04
    assert sample["late"].mean() == pytest.approx(frame["late"].mean(), abs=0.04)
