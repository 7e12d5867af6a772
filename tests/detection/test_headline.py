"""Two regions of six regress: the regression is reported on a region hit, not on the whole whose change
the four untouched regions dilute to a third (however significant that diluted change is)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.sources import open_workspace
from detection.scan import scan
from metrics.cube import build_cube
from tests.detection.conftest import cx_records, cx_workspace
from tests.detection.test_scan import START

HIT = {"region=east", "region=west"}


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_regions")
    ow = open_workspace(cx_workspace(folder, cx_records(120_000, scope=("region", ["east", "west"]))))
    build_cube(ow, folder / "out")
    return scan(ow, folder / "out" / "cube.parquet")


@pytest.mark.parametrize("metric", ["on_time_rate", "avg_minutes"])
def test_the_headline_is_a_region_hit_not_the_diluted_whole(two_regions, metric):
    (r,) = [r for r in two_regions.regressions if r.metric == metric]
    assert r.slice.key in HIT, r.slice.key
    assert {s.key for s in r.slices[:2]} == HIT
    assert "*" in r.extra.member_slices, "the whole moved too, significantly, and was folded in"
    assert abs(r.start - START) <= timedelta(days=1)
