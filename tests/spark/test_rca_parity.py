"""The root-cause scans (candidate drivers' onsets and footprints, dimension cardinalities, scope changes) and
the seeded samples (the SHAP evidence's, the outcome models') give on Spark what they give on DuckDB: the
same numbers, the same sampled records in the same order."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from data.engines import sample_key
from data.slices import Slice
from data.sources import open_workspace
from detection.types import Interval, Regression
from metrics.definitions import scope_predicate
from rca.candidates import feature_footprint, feature_onset
from rca.engine import _shared_panel_dims
from rca.evidence.shap_shift import draw_sample
from rca.measures import Measures
from rca.panel import dimension_cardinality
from rca.scoped import scope_changes
from rca.types import Incident
from recommendations.records import sample_records
from tests.conftest import tiny_records, write_workspace

START, ONSET, END = datetime(2026, 1, 1), datetime(2026, 1, 2, 10), datetime(2026, 1, 4)
NORTH = Slice((("region", "north"),))


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """Tiny records (nulls in a dimension, a timestamp and the outcomes) where supply rises by 0.5 in the
    north from the policy's time on; the workspace opened on both engines."""
    records = tiny_records(1500, seed=4)
    records.loc[(records["region"] == "north") & (records["created_at"] >= ONSET), "supply"] += 0.5
    path = write_workspace(tmp_path_factory.mktemp("rca") / "ws", records)
    return open_workspace(path), open_workspace(path, engine="spark"), records


def test_the_sample_key_is_the_same_text_on_both_engines(spark, engines):
    duck, on_spark, records = engines
    assert records["delivered_at"].isna().any() and records["region"].isna().any()
    sql = f"SELECT order_id, {sample_key(duck.columns, 7)} AS k FROM records ORDER BY order_id"
    a, b = duck.engine.frame(sql), on_spark.engine.frame(sql)
    assert a["k"].str.fullmatch("[0-9a-f]{32}").all() and a["k"].nunique() == len(records)
    pd.testing.assert_frame_equal(a, b)
    other = duck.engine.frame(f"SELECT order_id, {sample_key(duck.columns, 8)} AS k FROM records ORDER BY order_id")
    assert not (other["k"] == a["k"]).any()  # another seed, another order
    # by a record id (records.id): an integer id, a text id, and a NULL id (the whole record's key)
    sql = (f"SELECT order_id, {sample_key(duck.columns, 7, 'order_id')} AS k, {sample_key(duck.columns, 7, 'store')} "
           f"AS s, {sample_key(duck.columns, 7, 'region')} AS r FROM records ORDER BY order_id")
    by_id, on_spark_by_id = duck.engine.frame(sql), on_spark.engine.frame(sql)
    pd.testing.assert_frame_equal(by_id, on_spark_by_id)
    assert by_id["k"].nunique() == len(records) and not (by_id["k"] == a["k"]).any()
    assert (by_id["r"] == a["k"])[records["region"].isna().to_numpy()].all()


def test_samples_draw_the_same_records_on_both_engines(spark, engines):
    duck, on_spark, records = engines
    select = ["CAST(supply AS DOUBLE) AS supply", "CAST(region AS VARCHAR) AS _dim_region",
              "CAST(hour(created_at) AS VARCHAR) AS _hour", "CAST(cancelled AS DOUBLE) AS c", "minutes"]
    for where, n in (("TRUE", 400), (scope_predicate((NORTH,)), 100)):
        a, b = sample_records(duck, select, where, n, 3), sample_records(on_spark, select, where, n, 3)
        assert len(a) == n
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    measures = Measures.of(duck.workspace)
    cardinality = dimension_cardinality(duck, START, END)
    assert cardinality == dimension_cardinality(on_spark, START, END) == {"region": 3, "store": 4, "channel": 2}
    focus = scope_predicate((NORTH,))
    a, b = (draw_sample(ow, measures, START, END, 300, focus, 150, cardinality=cardinality, seed=2).frame
            for ow in (duck, on_spark))
    north = (a["region"] == "north").sum()
    assert 350 < len(a) < 550 and north > 0.5 * len(a)  # about 300 of all, plus about 150 of the north's
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0)


def test_root_cause_scans_equal_duckdb(spark, engines):
    duck, on_spark, records = engines
    onsets = [feature_onset(ow, "supply", None, (NORTH,), START, END) for ow in (duck, on_spark)]
    assert onsets[0] is not None and abs(onsets[0].time - ONSET) <= timedelta(hours=3)
    assert onsets[0] == onsets[1]
    shares = [feature_onset(ow, "channel", "web", (NORTH,), START, END) for ow in (duck, on_spark)]
    assert shares[0] == shares[1]  # the share of a level (no shift there: None or the same change point)
    footprints = [feature_footprint(ow, "supply", None, (NORTH,), ONSET, days=2, z_min=2.0) for ow in (duck, on_spark)]
    assert footprints[0] == footprints[1] == (NORTH,)
    # the exact count of (unit × scope values): the shared panel's size decides at exactly that many cells
    window = records[(records["created_at"] >= START) & (records["created_at"] < END)]
    groups = window[["store", "channel", "region"]].apply(lambda r: "|".join(v for v in r if isinstance(v, str)), axis=1)
    cells = groups.nunique() * 72
    for ow in (duck, on_spark):
        assert _shared_panel_dims(ow, ("store",), ("channel", "region"), START, END, timedelta(hours=1), cells) \
            == ("channel", "region")
        assert _shared_panel_dims(ow, ("store",), ("channel", "region"), START, END, timedelta(hours=1), cells - 1) == ()


def test_scope_changes_equal_duckdb(spark, engines):
    duck, on_spark, _ = engines
    nan = float("nan")
    incidents = [Incident(Regression(id=metric, metric=metric, direction="up", start=ONSET, end=END, baseline=nan,
                                     current=nan, change=nan, change_interval=Interval(nan, nan), relative_change=nan,
                                     relative_interval=Interval(nan, nan), p_value=nan, q_value=nan, slice=Slice(()),
                                     slices=(), baseline_start=START), (), onset=onset)
                 for metric, onset in (("avg_minutes", None), ("on_time_rate", ONSET + timedelta(hours=5)))]
    a, b = scope_changes(duck, incidents, (NORTH,)), scope_changes(on_spark, incidents, (NORTH,))
    assert [c.onset for c in a] == [ONSET, ONSET + timedelta(hours=5)] and a[0].volume > 0
    for x, y in zip(a, b, strict=True):
        assert (x.scope, x.baseline_start, x.onset, x.end, x.volume) == (y.scope, y.baseline_start, y.onset, y.end, y.volume)
        for name in ("before", "after", "change", "standard_errors", "impact_per_day"):
            assert np.isclose(getattr(y, name), getattr(x, name), rtol=1e-9, atol=0), name
