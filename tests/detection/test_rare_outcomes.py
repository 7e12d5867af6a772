"""A rate near 1 regresses by a fraction of its value but a large part of its rare outcome: a rate's
tolerance is on the scale √(p(1 − p)), so an accuracy of 97 % and its error rate of 3 % (good in opposite
directions) are the same regression; it is reported on the regions hit, not on the whole whose change
they dilute."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from data.sources import open_workspace
from detection.scan import scan
from metrics.cube import build_cube
from tests.detection.conftest import cx_records, cx_workspace
from tests.detection.test_scan import START

HIT = ["east", "west"]  # two of the six regions
BASE_ERROR, FACTOR = 0.03, 1.6  # wrong orders 3 % -> 4.8 %: accuracy 97 % -> 95.2 %, a 1.9 % relative fall


@pytest.fixture(scope="module")
def accuracy(tmp_path_factory):
    records = cx_records(120_000)
    rng = np.random.default_rng(3)
    hit = records["region"].isin(HIT).to_numpy() & (records["created_at"] >= START).to_numpy()
    records["item_ok"] = rng.random(len(records)) >= np.where(hit, BASE_ERROR * FACTOR, BASE_ERROR)
    folder = tmp_path_factory.mktemp("accuracy")
    path = cx_workspace(folder, records)
    spec = path.read_text().replace("metrics:\n", "metrics:\n"
                                    "- {name: item_accuracy, type: rate, expr: item_ok, good: up}\n"
                                    "- {name: item_error_rate, type: rate, expr: NOT item_ok, good: down}\n", 1)
    path.write_text(spec)
    ow = open_workspace(path)
    build_cube(ow, folder / "out")
    return scan(ow, folder / "out" / "cube.parquet")


@pytest.mark.parametrize("metric, direction", [("item_accuracy", "down"), ("item_error_rate", "up")])
def test_a_rate_and_its_complement_are_the_same_regression(accuracy, metric, direction):
    (r,) = [r for r in accuracy.regressions if r.metric == metric]
    assert r.direction == direction
    assert abs(r.start - START) <= timedelta(hours=12), r.start
    assert r.slice.key in {f"region={h}" for h in HIT}, r.slice.key  # not '*': two regions of six dilute it
    assert {s.key for s in r.slices[:2]} == {f"region={h}" for h in HIT}
    # the change in the regions hit: 1.8 points of accuracy (within the reported interval)
    assert r.change_interval.low <= (1 if direction == "up" else -1) * BASE_ERROR * (FACTOR - 1) <= r.change_interval.high


def test_both_phrasings_carry_the_same_evidence(accuracy):
    by_metric = {r.metric: r for r in accuracy.regressions}
    up, down = by_metric["item_accuracy"], by_metric["item_error_rate"]
    assert up.start == down.start and up.slice.key == down.slice.key
    assert np.isclose(np.log(up.p_value), np.log(down.p_value), rtol=0.05)
