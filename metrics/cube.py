"""The metric cube: every metric × time bucket × slice, from one DuckDB GROUPING SETS query.

Every non-composite metric is a ratio of per-record sums, sum(X) / sum(Y) (see
`data.workspace.MetricSpec`). For each slice and bucket the cube keeps the sums a later stage needs
for honest statistics — ``numerator`` = ΣX, ``denominator`` = ΣY, ``num_sq`` = ΣX², ``den_sq`` = ΣY²,
``num_den`` = ΣXY, ``n`` = records — so a detector can compute delta-method standard errors
(rates reduce to the binomial p(1-p)/n) without going back to the records.

Slices are the total (``*``) and every combination of up to ``depth`` dimensions, labelled
``dim=value&dim=value`` with dimensions sorted by name; a null dimension value reads
`metrics.definitions.NULL_LABEL`. The cube is sparse: a slice has rows only for buckets in which it has
records. The per-record X and Y, the composites' orientation, the labels and the columns are the
metrics' definitions (`metrics.definitions`); this module puts them into the cube's query.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from data.atomic import make_temp_dir
from data.engines import RecordEngine
from data.errors import UserError, WorkspaceError
from data.sources import OpenWorkspace, quote, sql_literal
from data.workspace import MetricSpec, Workspace
from metrics.definitions import (
    CUBE_COLUMNS, CUBE_SCHEMA, base_metrics, composite_parts, label_sql, oriented_sql, record_sql,
)

WRITE_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class CubeInfo:
    """What a cube holds; written beside it as ``cube.json``."""

    workspace: str
    grain: str
    dimensions: list[str]
    depth: int
    metrics: list[dict]
    start: str | None
    end: str | None
    buckets: int
    slices: int
    rows: int
    records: int
    seconds: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def grouping_sets(dimensions: list[str], depth: int) -> list[tuple[str, ...]]:
    """Every combination of at most ``depth`` dimensions, the empty one (the total) first."""
    dims = sorted(dimensions)
    return [combo for k in range(min(depth, len(dims)) + 1) for combo in combinations(dims, k)]


def metric_inputs(m: MetricSpec, i: int) -> list[str]:
    """Per-record X (and Y for ratios: a rate's or mean's ΣY is ``count(x)``) of metric ``i`` for the base
    scan (`metrics.definitions.record_sql`)."""
    if m.type == "composite":
        return []
    r = record_sql(m)
    return [f"{r.x} AS x{i}"] + ([f"{r.y} AS y{i}"] if m.type == "ratio" else [])


def metric_aggregates(m: MetricSpec, i: int) -> list[str]:
    """ΣX, ΣY, ΣX², ΣY², ΣXY of metric ``i`` (only the ones that are not implied by others)."""
    total = "coalesce(sum({}), 0)".format
    if m.type == "rate":
        return [f"{total(f'x{i}')} AS num{i}", f"count(x{i}) AS den{i}"]
    if m.type == "mean":
        return [f"{total(f'x{i}')} AS num{i}", f"count(x{i}) AS den{i}", f"{total(f'x{i} * x{i}')} AS nsq{i}"]
    if m.type == "ratio":
        return [f"{total(f'x{i}')} AS num{i}", f"{total(f'y{i}')} AS den{i}", f"{total(f'x{i} * x{i}')} AS nsq{i}",
                f"{total(f'y{i} * y{i}')} AS dsq{i}", f"{total(f'x{i} * y{i}')} AS nd{i}"]
    return []


def long_select(m: MetricSpec, i: int) -> str:
    """One metric's rows of the long cube, from the wide aggregate table."""
    name = sql_literal(m.name)
    value = f"CAST(num{i} AS DOUBLE) / nullif(den{i}, 0)"
    if m.type == "rate":
        moments = f"num{i}, den{i}, num{i}"
    elif m.type == "mean":
        moments = f"nsq{i}, den{i}, num{i}"
    else:
        moments = f"nsq{i}, dsq{i}, nd{i}"
    moments = ", ".join(f"CAST({col} AS DOUBLE) AS {alias}"
                        for col, alias in zip(moments.split(", "), ("num_sq", "den_sq", "num_den")))
    return (f"SELECT ts, slice, {name} AS metric, {value} AS value, CAST(num{i} AS DOUBLE) AS numerator, "
            f"CAST(den{i} AS DOUBLE) AS denominator, n, {moments} FROM wide")


def composite_select(m: MetricSpec, index: dict[str, int], metrics: Iterable[MetricSpec]) -> str:
    """A composite's rows: the weighted mean of its oriented components (higher is better); ``index``
    gives each component's column number in ``wide``."""
    terms = []
    for p in composite_parts(m, metrics):
        i = index[p.name]
        terms.append(f"{p.weight!r} * {oriented_sql(f'(CAST(num{i} AS DOUBLE) / nullif(den{i}, 0))', p.spec)}")
    value = " + ".join(terms)
    return (f"SELECT ts, slice, {sql_literal(m.name)} AS metric, {value} AS value, {value} AS numerator, "
            f"1.0 AS denominator, n, NULL::DOUBLE AS num_sq, NULL::DOUBLE AS den_sq, NULL::DOUBLE AS num_den FROM wide")


def check_metrics_have_values(ow: OpenWorkspace) -> None:
    """Raise `WorkspaceError` for a metric without a value in any record (all NULL, or a zero denominator):
    one aggregate over the records, with the same per-record inputs as the cube. (The cube itself holds
    such a metric with NULL values; analysing it is what cannot work.)"""
    base = base_metrics(ow.workspace.metrics)
    inputs = [col for i, m in enumerate(base) for col in metric_inputs(m, i)]
    aggs = [a for i, m in enumerate(base) for a in metric_aggregates(m, i) if a.endswith(f" AS den{i}")]
    row = ow.engine.row(f"SELECT {', '.join(aggs)} FROM (SELECT {', '.join(inputs)} FROM records)")
    for m, denominator in zip(base, row, strict=True):
        if not denominator:
            problem = (f"the denominator {m.denominator!r} sums to 0 over the records where numerator and "
                       "denominator are not NULL" if m.type == "ratio" else f"{m.expr!r} is NULL in every record")
            raise WorkspaceError(str(ow.workspace.source_file),
                                 f"metrics.{m.name}: {problem}, so the metric has no value")


def cube_queries(ws: Workspace, depth: int | None = None) -> tuple[str, str]:
    """The two queries that build the cube, in DuckDB SQL (rendered for Spark by `data.engines`): the wide
    GROUPING SETS aggregate, stored as the table ``wide``, and its long form selected from ``wide``.

    Only single-argument ``grouping()`` is used (the one meaning both dialects share), and every division
    guards its divisor with ``nullif(.., 0)`` (NULL, not ±inf, in both).
    """
    depth = ws.cube.depth if depth is None else depth
    dims = sorted(ws.records.dimensions)
    alias = {d: f"d{j}" for j, d in enumerate(dims)}
    base = base_metrics(ws.metrics)
    index = {m.name: i for i, m in enumerate(base)}
    grain = ws.records.grain
    base_cols = [f"date_trunc('{grain}', {quote(ws.records.timestamp)}) AS ts"]
    # Group on the raw columns (cheaper than strings); grouping() tells a real null from a rolled-up one.
    base_cols += [f"{quote(d)} AS {alias[d]}" for d in dims]
    for m in base:
        base_cols += metric_inputs(m, index[m.name])
    sets = ", ".join("(" + ", ".join(["ts"] + [alias[d] for d in combo]) + ")" for combo in grouping_sets(dims, depth))
    label_parts = [f"CASE WHEN grouping({alias[d]}) = 0 THEN {sql_literal(d + '=')} || {label_sql(alias[d])} END"
                   for d in dims]
    slice_expr = f"coalesce(nullif(concat_ws('&', {', '.join(label_parts)}), ''), '*')" if dims else "'*'"
    aggs = [a for m in base for a in metric_aggregates(m, index[m.name])]
    # Two-phase aggregation: every aggregate is a sum, so the records are first summed into leaves
    # (bucket × every dimension), then the grouping sets roll up the much smaller leaf table.
    rolled = [f"sum({a.rsplit(' AS ', 1)[1]}) AS {a.rsplit(' AS ', 1)[1]}" for a in aggs]
    leaf_keys = ", ".join(["ts"] + [alias[d] for d in dims])
    wide = (f"WITH base AS (SELECT {', '.join(base_cols)} FROM records), "
            f"leaves AS (SELECT {leaf_keys}, count(*) AS n, {', '.join(aggs)} FROM base GROUP BY {leaf_keys}) "
            f"SELECT ts, {slice_expr} AS slice, CAST(sum(n) AS BIGINT) AS n, {', '.join(rolled)} "
            f"FROM leaves GROUP BY GROUPING SETS ({sets})")
    return wide, "\nUNION ALL\n".join(metric_selects(ws).values())


def metric_selects(ws: Workspace) -> dict[str, str]:
    """Each metric's rows of the long cube, selected from the wide aggregate table ``wide`` (`cube_queries`),
    in the cube's order: the base metrics, then the composites."""
    base = base_metrics(ws.metrics)
    index = {m.name: i for i, m in enumerate(base)}
    selects = {m.name: long_select(m, index[m.name]) for m in base}
    selects |= {m.name: composite_select(m, index, ws.metrics) for m in ws.metrics if m.type == "composite"}
    return selects


def compile_cube_sql(ws: Workspace, depth: int | None = None) -> tuple[str, str]:
    """The cube's statements as DuckDB runs them: ``(wide_sql, long_sql)``, ``wide_sql`` creating the temp
    table ``wide`` (`cube_queries`)."""
    wide, long = cube_queries(ws, depth)
    return f"CREATE OR REPLACE TEMP TABLE wide AS {wide}", long


def _run(con: duckdb.DuckDBPyConnection, work: Callable[[], None], label: str, progress: bool) -> None:
    """Do ``work`` (queries on ``con``); with ``progress``, poll DuckDB's query progress into a rich bar."""
    if not progress:
        work()
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    done = threading.Event()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(label, total=100)

        def poll() -> None:
            while not done.wait(0.2):
                pct = con.query_progress()
                if pct is not None and pct >= 0:
                    bar.update(task, completed=pct)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            work()
        finally:
            done.set()
            watcher.join()
        bar.update(task, completed=100)


def _write_parquet(engine: RecordEngine, sql: str, target: Path) -> None:
    """Stream the rows of ``sql`` into a Parquet file from Python: the workspace's DuckDB connection has
    external access off (`data.sources.open_workspace`), so DuckDB itself may not write files; Spark's rows
    come to the driver (a cube is small next to its records). Both engines' rows are written with the one
    schema `CUBE_SCHEMA`."""
    with pq.ParquetWriter(target, CUBE_SCHEMA, compression="snappy") as writer:
        for batch in engine.batches(sql):
            writer.write_table(pa.Table.from_batches([batch]).cast(CUBE_SCHEMA))


def _configure(ow: OpenWorkspace, memory_limit: str | None = None) -> None:
    """Settings for the cube's aggregate: no insertion order to keep, and DuckDB's ``memory_limit``."""
    con, engine = ow.con, ow.engine
    if engine.name == "duckdb":
        con.execute("SET preserve_insertion_order = false")
    elif memory_limit:
        raise UserError(f"--memory-limit applies to engine duckdb; engine {engine.name} takes its memory from "
                        "spark.config (spark.driver.memory, spark.executor.memory) in the workspace")
    if memory_limit:
        try:
            con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
        except duckdb.Error as err:
            problem = str(err).splitlines()[0].split(": ", 1)[-1]
            raise UserError(f"--memory-limit {memory_limit!r}: {problem}") from None


def _aggregate(ow: OpenWorkspace, depth: int, progress: bool = False) -> None:
    """Materialize the workspace's wide cube aggregate as the engine's table ``wide`` (`cube_queries`)."""
    wide_sql, _ = cube_queries(ow.workspace, depth)
    _run(ow.con, lambda: ow.engine.materialize("wide", wide_sql), "aggregating",
         progress and ow.engine.name == "duckdb")


def _checked_depth(ws: Workspace, depth: int | None) -> int:
    depth = ws.cube.depth if depth is None else depth
    if depth < 0:
        raise UserError(f"--depth must be 0 or more, got {depth}")
    return depth


def build_cube(ow: OpenWorkspace, out_dir: str | Path, depth: int | None = None,
               progress: bool = False, memory_limit: str | None = None) -> CubeInfo:
    """Build ``out_dir/cube.parquet`` (and ``cube.json``) for an opened workspace.

    Files are written to a temporary folder and moved into place at the end, so a failure leaves
    nothing half-written.
    """
    ws = ow.workspace
    depth = _checked_depth(ws, depth)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: exists and is not a directory")
    engine = ow.engine
    _configure(ow, memory_limit)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = make_temp_dir(out_dir, "cube")
    try:
        _aggregate(ow, depth, progress)
        target = staging / "cube.parquet"
        _, long_sql = cube_queries(ws, depth)
        _run(ow.con, lambda: _write_parquet(engine, long_sql, target), "writing cube",
             progress and engine.name == "duckdb")
        stats = engine.row(
            "SELECT min(ts), max(ts), count(DISTINCT ts), count(DISTINCT slice), count(*), "
            "sum(n) FILTER (WHERE slice = '*') FROM wide")
        engine.drop("wide")
        info = CubeInfo(
            workspace=ws.name, grain=ws.records.grain, dimensions=sorted(ws.records.dimensions), depth=depth,
            metrics=[{"name": m.name, "type": m.type, "good": m.good, "role": m.role, "unit": m.unit}
                     for m in ws.metrics],
            start=stats[0].isoformat() if stats[0] else None, end=stats[1].isoformat() if stats[1] else None,
            buckets=stats[2], slices=stats[3], rows=stats[4] * len(ws.metrics), records=int(stats[5] or 0),
            seconds=round(time.perf_counter() - started, 3),
        )
        (staging / "cube.json").write_text(info.to_json())
        for name in ("cube.parquet", "cube.json"):
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


class EngineCube:
    """A workspace's cube kept in its engine for one run, never written: the wide aggregate stays the
    engine's table ``wide`` and each metric's long rows (the rows of ``cube.parquet``, same values and
    types, `CUBE_SCHEMA`) are selected from it when asked (`metric_table`). A run without a cube folder
    reads its cube this way instead of writing a temporary ``cube.parquet`` and reading it back. Use it as
    a context manager: leaving it drops ``wide``. Metrics may be asked for from several threads."""

    def __init__(self, ow: OpenWorkspace, depth: int | None = None):
        self.engine = ow.engine
        self.selects = metric_selects(ow.workspace)
        self._lock = threading.Lock()  # one query at a time on the workspace's connection
        _configure(ow)
        _aggregate(ow, _checked_depth(ow.workspace, depth))

    def __enter__(self) -> "EngineCube":
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.drop("wide")

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """The cube's first and last bucket (None, None when it has no rows)."""
        lo, hi = self.engine.row("SELECT min(ts), max(ts) FROM wide")
        return lo, hi

    def metric_table(self, metric: str, columns: Sequence[str]) -> pa.Table:
        """``ts``, ``slice`` and ``columns`` of ``metric``'s rows (none for a metric the cube lacks)."""
        wanted = ["ts", "slice", *columns]
        schema = pa.schema([CUBE_SCHEMA.field(c) for c in wanted])
        if metric not in self.selects:
            return schema.empty_table()
        with self._lock:
            batches = list(self.engine.batches(f"SELECT {', '.join(wanted)} FROM ({self.selects[metric]})"))
        return pa.Table.from_batches(batches).cast(schema) if batches else schema.empty_table()


def splice_cube(stored_dir: str | Path, fresh_dir: str | Path, start: datetime) -> CubeInfo:
    """Replace the buckets from ``start`` on of ``stored_dir``'s cube with those of ``fresh_dir``'s.

    A run over new data builds its cube from the records of its window and the baseline before it only;
    this keeps the stored cube whole (every bucket, for series and drill-down) at the cost of one copy of
    the cube, not a scan of every record. Both cubes must be of the same workspace and depth, and the
    fresh cube must hold every record of its buckets from ``start`` on. Written through a temporary file
    and a rename, like `build_cube`.
    """
    stored, fresh = Path(stored_dir), Path(fresh_dir)
    old_info = json.loads((stored / "cube.json").read_text())
    new_info = json.loads((fresh / "cube.json").read_text())
    started = time.perf_counter()
    con = duckdb.connect()
    staging = make_temp_dir(stored, "cube")
    try:
        con.execute("SET preserve_insertion_order = true")
        target = staging / "cube.parquet"
        columns = ", ".join(CUBE_COLUMNS)
        # in insertion order: each cube's rows stay grouped by metric, so a reader filtering on one metric
        # still skips most row groups
        con.execute(f"COPY (SELECT {columns} FROM read_parquet(?) WHERE ts < ? UNION ALL "
                    f"SELECT {columns} FROM read_parquet(?) WHERE ts >= ?) TO "
                    f"{sql_literal(str(target))} (FORMAT parquet, COMPRESSION snappy)",
                    [str(stored / "cube.parquet"), start, str(fresh / "cube.parquet"), start])
        first_metric = new_info["metrics"][0]["name"]
        stats = con.execute("SELECT min(ts), max(ts), count(DISTINCT ts), count(DISTINCT slice), count(*), "
                            "sum(n) FILTER (WHERE slice = '*' AND metric = ?) FROM read_parquet(?)",
                            [first_metric, str(target)]).fetchone()
        info = CubeInfo(
            workspace=new_info["workspace"], grain=new_info["grain"], dimensions=new_info["dimensions"],
            depth=new_info["depth"], metrics=new_info["metrics"],
            start=stats[0].isoformat() if stats[0] else old_info["start"],
            end=stats[1].isoformat() if stats[1] else old_info["end"], buckets=stats[2], slices=stats[3],
            rows=stats[4], records=int(stats[5] or 0), seconds=round(time.perf_counter() - started, 3))
        (staging / "cube.json").write_text(info.to_json())
        for name in ("cube.parquet", "cube.json"):
            os.replace(staging / name, stored / name)
    finally:
        con.close()
        shutil.rmtree(staging, ignore_errors=True)
    return info
