"""The cube, the detection input and the scope sums from Spark equal DuckDB's on the same records, cell for
cell (exact for counts, 1e-9 relative for floats); Spark refuses, with one line, what it cannot read as DuckDB
does."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import yaml

from data.errors import WorkspaceError
from data.slices import Slice
from data.sources import open_workspace
from detection.config import detection_config
from detection.leaves import Period, leaf_sums
from detection.scan import check_span
from metrics.cube import build_cube, check_metrics_have_values
from metrics.definitions import NULL_LABEL, base_metrics
from rca.evidence.scope import traffic_overlaps
from recommendations.records import window_stats_many
from tests.conftest import tiny_records, write_workspace

EXACT = ["ts", "slice", "metric", "n"]


def _cube(ow, folder) -> pd.DataFrame:
    build_cube(ow, folder)
    return pd.read_parquet(folder / "cube.parquet").sort_values(["metric", "slice", "ts"]).reset_index(drop=True)


def _same(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(duck.columns) == list(spark.columns) and len(duck) == len(spark)
    assert duck.dtypes.to_dict() == spark.dtypes.to_dict()
    for col in duck.columns:
        a, b = duck[col].to_numpy(), spark[col].to_numpy()
        if col in EXACT or not np.issubdtype(a.dtype, np.floating):
            assert (a == b).all(), col
        else:
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=0, equal_nan=True, err_msg=col)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Nulls in a dimension and in the outcomes; the same workspace opened on both engines."""
    path = write_workspace(tmp_path_factory.mktemp("tiny") / "ws", tiny_records(1500, seed=3),
                           cube={"depth": 3})
    return path


def test_cube_equals_duckdb_cell_for_cell(spark, tiny, tmp_path):
    duck = open_workspace(tiny)
    on_spark = open_workspace(tiny, engine="spark")
    assert (duck.engine.name, on_spark.engine.name) == ("duckdb", "spark")
    a, b = _cube(duck, tmp_path / "duck"), _cube(on_spark, tmp_path / "spark")
    assert set(a["slice"]) >= {"*", "region=(null)", "channel=web&region=(null)&store=s2"}  # depth 3, null labels
    _same(a, b)
    assert a["value"].isna().any()  # zero denominators (refund per item with no items) are NULL in both
    info_duck = (tmp_path / "duck" / "cube.json").read_text()
    info_spark = (tmp_path / "spark" / "cube.json").read_text()
    strip = lambda text: [ln for ln in text.splitlines() if '"seconds"' not in ln]  # noqa: E731
    assert strip(info_duck) == strip(info_spark)


def test_detection_input_equals_duckdb(spark, tiny):
    duck, on_spark = open_workspace(tiny), open_workspace(tiny, engine="spark")
    ws = duck.workspace
    metrics = base_metrics(ws, [m.name for m in ws.metrics])
    periods = [Period(datetime(2026, 1, 1), datetime(2026, 1, 2, 12)), Period(datetime(2026, 1, 2), datetime(2026, 1, 4)),
               Period(datetime(2026, 1, 3, 6), datetime(2026, 1, 3, 7))]
    a, b = leaf_sums(duck, metrics, periods), leaf_sums(on_spark, metrics, periods)
    assert len(a) > 20 and (a["region"] == "(null)").any()
    _same(a, b)
    for ow in (duck, on_spark):  # the records' span, read by each engine: 3 days hold no 14-day baseline
        with pytest.raises(WorkspaceError, match="baseline_days: 14 leaves no window in a cube of 3 days"):
            check_span(ow, detection_config(ws))
    check_metrics_have_values(on_spark)


def test_a_metric_without_values_is_refused_on_spark_too(spark, tmp_path):
    records = tiny_records(200)
    records["items"] = 0.0
    path = write_workspace(tmp_path / "ws", records)
    with pytest.raises(WorkspaceError, match="metrics.refund_per_item: the denominator"):
        check_metrics_have_values(open_workspace(path, engine="spark"))


def test_epoch_timestamps_and_hive_partitions_read_as_on_duckdb(spark, tmp_path):
    records = tiny_records(800, seed=5)
    records["created_at"] = records["created_at"].astype("int64") // 10**9 * 1000  # epoch milliseconds
    folder = tmp_path / "ws"
    path = write_workspace(folder, records.iloc[:0])
    spec = yaml.safe_load(path.read_text())
    spec["records"]["dimensions"] = ["region", "shard"]
    path.write_text(yaml.safe_dump(spec))
    (folder / "orders" / "part-0.parquet").unlink()
    for shard, part in records.groupby(records["order_id"] % 2):
        (folder / "orders" / f"shard={shard}").mkdir(parents=True)
        part.drop(columns="order_id").to_parquet(folder / "orders" / f"shard={shard}" / "p.parquet", index=False)
    _same(_cube(open_workspace(path), tmp_path / "duck"), _cube(open_workspace(path, engine="spark"), tmp_path / "spark"))


@pytest.mark.parametrize("change, message", [
    (lambda r: r.assign(created_at=r["created_at"].astype(str)), "engine spark reads timestamps stored as Parquet"),
    (lambda r: r.assign(store=r["supply"]), "column 'store' is DoubleType; engine spark needs text, integer"),
])
def test_what_spark_cannot_read_like_duckdb_is_refused_in_one_line(spark, tmp_path, change, message):
    path = write_workspace(tmp_path / "ws", change(tiny_records(100)))
    open_workspace(path)  # fine on DuckDB
    with pytest.raises(WorkspaceError, match=message):
        open_workspace(path, engine="spark")


def test_csv_records_are_refused_on_spark(spark, tmp_path):
    path = write_workspace(tmp_path / "ws")
    tiny_records().to_csv(tmp_path / "ws" / "orders.csv", index=False)
    path.write_text(path.read_text().replace("path: orders", "path: orders.csv"))
    with pytest.raises(WorkspaceError, match="records.path: engine spark reads Parquet records"):
        open_workspace(path, engine="spark")


def test_a_metric_spark_cannot_compile_is_refused_naming_the_key(spark, tmp_path):
    metrics = [{"name": "odd", "type": "rate", "expr": "regexp_full_match(store, 's[12]')"}]
    path = write_workspace(tmp_path / "ws", metrics=metrics)
    open_workspace(path)
    with pytest.raises(WorkspaceError, match=r"metrics\.odd\.expr: .* (on Spark|for Spark)"):
        open_workspace(path, engine="spark")


def test_workspaces_opened_in_one_session_keep_their_own_records(spark, tiny, tmp_path):
    first = open_workspace(tiny, engine="spark")
    second = open_workspace(write_workspace(tmp_path / "other", tiny_records(250, seed=9)), engine="spark")
    assert first.engine.row("SELECT count(*) FROM records") == (1500,)
    assert second.engine.row("SELECT count(*) FROM records") == (250,)
    # closing one (as the server does after each request) drops its views and leaves the other's
    view = second.engine.view("records")
    second.close()
    assert not spark.catalog.tableExists(view)
    assert first.engine.row("SELECT count(*) FROM records") == (1500,)


def test_scope_sums_of_the_null_slice_equal_duckdb(spark, tiny):
    """The slice predicate (`metrics.definitions`, rendered for Spark by SQLGlot) selects the NULL slice and
    its complement on Spark as on DuckDB: the recommendation window sums and the scope counts."""
    duck, on_spark = open_workspace(tiny), open_workspace(tiny, engine="spark")
    null, north = Slice((("region", NULL_LABEL),)), Slice((("region", "north"),))
    start, end = datetime(2026, 1, 1), datetime(2026, 1, 4)
    keys = [((null,), start, end), ((north, null), start, end), ((Slice((("channel", "web"), ("region", NULL_LABEL))),),
                                                                  datetime(2026, 1, 2), end)]
    a, b = window_stats_many(duck, keys), window_stats_many(on_spark, keys)
    assert a[keys[0]].records > 0
    for key in keys:
        assert a[key].records == b[key].records
        for name, value in a[key].values.items():
            assert np.isclose(b[key].values[name], value, rtol=1e-9, atol=0, equal_nan=True), name
    scopes = {"north": (north,), "null": (null,)}
    assert traffic_overlaps(duck, start, end, (null,), scopes) == traffic_overlaps(on_spark, start, end, (null,), scopes)


def _hive_records(folder) -> None:
    """The tiny records as hive partitions ``shard=0|1`` in ``folder``, plus files Spark writes and skips."""
    records = tiny_records(900, seed=7)
    for shard, part in records.groupby(records["order_id"] % 2):
        (folder / f"shard={shard}").mkdir(parents=True)
        part.drop(columns="order_id").to_parquet(folder / f"shard={shard}" / "p.parquet", index=False)
    (folder / "_SUCCESS").write_text("")


def test_records_behind_a_url_are_listed_and_read_by_spark_alone(spark, tmp_path):
    path = write_workspace(tmp_path / "ws", tiny_records(0))
    (tmp_path / "ws" / "orders" / "part-0.parquet").unlink()
    _hive_records(tmp_path / "ws" / "orders")
    spec = yaml.safe_load(path.read_text())
    spec["records"]["dimensions"] = ["region", "shard"]
    path.write_text(yaml.safe_dump(spec))
    duck = open_workspace(path)
    url_path = tmp_path / "url" / "workspace.yaml"
    url_path.parent.mkdir()
    url_path.write_text(yaml.safe_dump({**spec, "records": {**spec["records"], "path": (tmp_path / "ws" / "orders").as_uri()},
                                        "changes": {"path": str(tmp_path / "ws" / "changes.csv")}}))
    on_url = open_workspace(url_path, engine="spark")
    assert [f.rsplit("/", 2)[-2:] for f in on_url.files] == [["shard=0", "p.parquet"], ["shard=1", "p.parquet"]]
    assert all(f.startswith("file:") for f in on_url.files)
    # partition values are inferred as INTEGER by Spark, BIGINT by DuckDB: the same labels
    assert {**on_url.columns, "shard": "BIGINT"} == duck.columns and len(on_url.changes) == 2
    with pytest.raises(Exception, match="records"):  # DuckDB holds no stand-in a stray scan could read
        on_url.con.execute("SELECT count(*) FROM records").fetchone()
    _same(_cube(duck, tmp_path / "duck"), _cube(on_url, tmp_path / "spark"))


@pytest.mark.parametrize("url, engine, message", [
    ("s3a://cx-orders/orders/", "spark", r"records.path: this Spark has no file system for s3a:// URLs; add its "
                                        r"connector \(e.g. spark.jars.packages org.apache.hadoop:hadoop-aws"),
    ("s3://cx-orders/orders/", "duckdb", "records.path: 's3://cx-orders/orders/' is a URL: engine spark reads object"),
    ("file:///nonexistent/cxw/orders", "spark", "records.path: 'file:///nonexistent/cxw/orders' does not exist"),
])
def test_a_url_spark_cannot_read_is_refused_in_one_line(spark, tmp_path, url, engine, message):
    path = write_workspace(tmp_path / "ws", tiny_records(50))
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "records": {**spec["records"], "path": url}}))
    with pytest.raises(WorkspaceError, match=message):
        open_workspace(path, engine=engine)


def test_the_server_reads_no_url(spark, tmp_path):
    from data.paths import PathGuard

    path = write_workspace(tmp_path / "ws", tiny_records(50))
    spec = yaml.safe_load(path.read_text())
    url = (tmp_path / "ws" / "orders").as_uri()
    path.write_text(yaml.safe_dump({**spec, "records": {**spec["records"], "path": url}}))
    with pytest.raises(WorkspaceError, match="is a URL: this server reads records from its own folders only"):
        open_workspace(path, engine="spark", guard=PathGuard.of([tmp_path]))
