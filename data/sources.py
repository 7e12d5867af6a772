"""Loaders: expose a workspace's records to DuckDB as the view ``records``, validated up front.

Records are never loaded into pandas: DuckDB scans Parquet (a file, a glob, a directory, hive
partitions) or CSV (delimiter and header sniffed, UTF-8 or Latin-1, ISO or epoch timestamps) lazily.
`open_workspace` checks everything a later stage relies on before any work starts: the files exist and
are readable, the role columns exist with usable types, every metric expression compiles with the
right type, and the change log parses. Each mistake raises `WorkspaceError` naming file and key.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data.changes import ChangeEvent, load_change_events
from data.engines import DuckDBEngine, EngineName, RecordEngine
from data.errors import WorkspaceError
from data.expressions import ExpressionError, checked_sql
from data.paths import PathGuard
from data.workspace import MetricSpec, Workspace, is_url, load_workspace

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")
# a record id's types: printed alike by DuckDB and Spark, for `data.engines.sample_key`
ID_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "VARCHAR")
TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class OpenWorkspace:
    """A validated workspace with its records exposed as the DuckDB view ``records``; ``engine`` runs the
    scans written for either engine (`data.engines`): DuckDB over ``con``, or Spark."""

    workspace: Workspace
    con: duckdb.DuckDBPyConnection
    columns: dict[str, str]  # column name -> DuckDB type, after timestamp normalisation
    files: tuple[str, ...]  # the record files read: local paths, or URLs (engine spark)
    changes: tuple[ChangeEvent, ...]
    engine: RecordEngine = field(default=None)  # type: ignore[assignment]  # None: DuckDB over ``con``

    def __post_init__(self) -> None:
        if self.engine is None:
            object.__setattr__(self, "engine", DuckDBEngine(self.con))

    @property
    def records_label(self) -> str:
        return self.workspace.records.path

    def close(self) -> None:
        """Release the records: the engine's views (Spark's, in a session that outlives the workspace),
        then the DuckDB connection."""
        try:
            self.engine.close()
        finally:
            self.con.close()


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(err: Exception) -> str:
    """DuckDB's message without its error class and without the echo of our query (``LINE 1: ...``),
    which would show the user SQL and server paths they never wrote."""
    text = str(err)
    for prefix in ("Binder Error: ", "Parser Error: ", "Conversion Error: ", "Catalog Error: ", "Invalid Input Error: "):
        text = text.replace(prefix, "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("LINE ") and set(ln) != {"^"}]
    return "; ".join(lines[:2]) if lines else type(err).__name__


def record_file_stamps(ws: Workspace) -> list[str]:
    """Name, size and modification time of each file behind ``records.path`` (what `open_workspace` reads),
    without opening them: local files from ``stat``, a URL's from Spark's listing (`data.spark`)."""
    if is_url(ws.records.path):
        from data.spark import list_url_files

        return [f"{f.url}\0{f.size}\0{f.modified_ms}" for f in list_url_files(ws).files]
    stamps = []
    for f in _record_files(ws)[0]:
        st = f.stat()
        stamps.append(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}")
    return stamps


def _record_files(ws: Workspace, guard: PathGuard | None = None) -> tuple[list[Path], str]:
    """The files behind ``records.path`` and their format (``parquet`` or ``csv``); with ``guard``, the
    folder is checked before it is listed and every file before it is opened."""
    spec = ws.records
    target = ws.resolve(spec.path)
    where = f"{ws.source_file}: records.path"
    if guard is not None:
        guard.check(_fixed_prefix(target), where, repr(spec.path))
    if any(ch in str(target) for ch in "*?["):
        files = sorted(Path(p) for p in globlib.glob(str(target), recursive=True) if Path(p).is_file())
        if not files:
            raise WorkspaceError(where, f"no files match {spec.path!r}")
    elif target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file() and _kind(p) is not None)
        if not files:
            raise WorkspaceError(where, f"directory {spec.path!r} holds no Parquet or CSV files")
    elif target.is_file():
        files = [target]
    else:
        raise WorkspaceError(where, f"{spec.path!r} does not exist (looked in {target.parent})")
    kinds = {spec.format} if spec.format != "auto" else {_kind(f) for f in files}
    if None in kinds:
        bad = next(f for f in files if _kind(f) is None)
        raise WorkspaceError(where, f"{bad.name}: unknown file type (expected .parquet or .csv, or set records.format)")
    if len(kinds) > 1:
        raise WorkspaceError(where, "mixes Parquet and CSV files; point it at one kind")
    if guard is not None:
        for f in files:
            guard.check(f, where, repr(spec.path) if f == target else f"{f.name!r} (in {spec.path!r})")
    return files, kinds.pop()


def _fixed_prefix(path: Path) -> Path:
    """The part of a path before its first wildcard: the folder a glob lists."""
    parts: list[str] = []
    for part in path.parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return Path(*parts)


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _csv_source(con: duckdb.DuckDBPyConnection, ws: Workspace, files: list[Path]) -> str:
    spec = ws.records
    file_list = "[" + ", ".join(sql_literal(str(f)) for f in files) + "]"
    options = ["union_by_name = true"]
    if spec.delimiter is not None:
        options.append(f"delim = {sql_literal(spec.delimiter)}")
    if spec.header is not None:
        options.append(f"header = {str(spec.header).lower()}")
    encodings = ["utf-8", "latin-1"] if spec.encoding == "auto" else [spec.encoding]
    last: Exception | None = None
    for encoding in encodings:
        source = f"read_csv({file_list}, {', '.join(options + [f'encoding = {sql_literal(encoding)}'])})"
        try:
            # Sniffing reads a sample; a full count forces every byte through the decoder.
            con.execute(f"SELECT count(*) FROM {source}").fetchall()
            return source
        except duckdb.Error as err:
            last = err
            if "unicode" not in str(err).lower() and "encod" not in str(err).lower():
                break
    raise WorkspaceError(f"{ws.source_file}: records.path", f"cannot read CSV {files[0].name}: {_first_line(last)}")


def _parquet_source(con: duckdb.DuckDBPyConnection, ws: Workspace, files: list[Path]) -> str:
    file_list = "[" + ", ".join(sql_literal(str(f)) for f in files) + "]"
    source = f"read_parquet({file_list}, hive_partitioning = true, union_by_name = true)"
    try:
        con.execute(f"SELECT * FROM {source} LIMIT 0").fetchall()
    except duckdb.Error as err:
        raise WorkspaceError(f"{ws.source_file}: records.path",
                             f"cannot read Parquet: {_first_line(err)}") from None
    return source


def _timestamp_expr(con: duckdb.DuckDBPyConnection, ws: Workspace, source: str, col_type: str) -> str:
    """SQL that turns the timestamp column into a naive UTC TIMESTAMP."""
    spec = ws.records
    col = quote(spec.timestamp)
    where = f"{ws.source_file}: records.timestamp"
    t = col_type.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"timezone('UTC', {col})"
    if t in TIME_TYPES:
        return f"CAST({col} AS TIMESTAMP)"
    if t in NUMERIC_TYPES or t.startswith("DECIMAL"):
        unit = spec.timestamp_unit
        if unit == "auto":
            biggest = con.execute(f"SELECT max(abs({col})) FROM {source}").fetchone()[0] or 0
            unit = "us" if biggest > 1e14 else "ms" if biggest > 1e11 else "s"
        scale = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
        return f"make_timestamp(CAST(round({col} * {1_000_000 // scale}) AS BIGINT))"
    if t == "VARCHAR":
        bad = con.execute(
            f"SELECT {col} FROM {source} WHERE {col} IS NOT NULL AND try_cast({col} AS TIMESTAMPTZ) IS NULL LIMIT 1"
        ).fetchone()
        if bad is not None:
            raise WorkspaceError(where, f"column {spec.timestamp!r} has a value that is not a timestamp: {bad[0]!r}")
        return f"timezone('UTC', CAST({col} AS TIMESTAMPTZ))"
    raise WorkspaceError(where, f"column {spec.timestamp!r} has type {col_type}, not a timestamp or epoch number")


def _check_columns(ws: Workspace, columns: dict[str, str]) -> None:
    spec = ws.records
    roles = [("records.timestamp", [spec.timestamp]), ("records.dimensions", spec.dimensions),
             ("records.features", spec.features), ("records.entity", [spec.entity] if spec.entity else []),
             ("records.id", [spec.id] if spec.id else [])]
    for key, names in roles:
        for name in names:
            if name not in columns:
                near = ", ".join(sorted(columns)[:12])
                raise WorkspaceError(f"{ws.source_file}: {key}",
                                     f"column {name!r} not found in {spec.path!r} (columns: {near})")
    if spec.id and columns[spec.id].upper() not in ID_TYPES:
        raise WorkspaceError(f"{ws.source_file}: records.id", f"column {spec.id!r} has type {columns[spec.id]}; a "
                                                              "record id is an integer or text column")


def _check_metric(con: duckdb.DuckDBPyConnection, ws: Workspace, metric: MetricSpec, columns: dict[str, str]) -> None:
    """Every expression of ``metric`` names only columns of the records and has the type its metric needs."""
    fields = {"rate": ["expr"], "mean": ["expr"], "ratio": ["numerator", "denominator"]}.get(metric.type, [])
    for key in fields:
        expr = getattr(metric, key)  # already checked and rendered by `MetricSpec`
        where = f"{ws.source_file}: metrics.{metric.name}.{key}"
        try:
            checked_sql(expr, columns)
        except ExpressionError as err:
            raise WorkspaceError(where, str(err)) from None
        try:
            kind = con.execute(f"DESCRIBE SELECT ({expr}) AS x FROM records").fetchall()[0][1].upper()
        except duckdb.Error as err:
            raise WorkspaceError(where, f"{expr} does not compile: {_first_line(err)}") from None
        if metric.type == "rate" and kind != "BOOLEAN":
            raise WorkspaceError(where, f"{expr} has type {kind}; a rate needs a true/false expression")
        if metric.type != "rate" and not (kind in NUMERIC_TYPES or kind.startswith("DECIMAL") or kind == "BOOLEAN"):
            raise WorkspaceError(where, f"{expr} has type {kind}; a {metric.type} needs a number")


def _lock_down(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Turn the connection's external access off: from here on it reads only the record files (the view
    ``records`` scans them lazily) and cannot read, write, attach or install anything else. DuckDB refuses
    to turn external access back on or to widen ``allowed_paths`` while the database runs, so no later
    statement can undo this. (``lock_configuration`` is not set: the cube still sets ``memory_limit``.)"""
    con.execute(f"SET allowed_paths = [{', '.join(sql_literal(str(f)) for f in files)}]")
    con.execute("SET enable_external_access = false")


def _validate(con: duckdb.DuckDBPyConnection, ws: Workspace, source: str, empty: Callable[[], bool]) -> None:
    """Check the role columns, that there are records (``empty``) and the metrics against ``source``, and
    expose it, timestamps as naive UTC, as the view ``records``."""
    raw_columns = {name: typ for name, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    _check_columns(ws, raw_columns)
    ts_expr = _timestamp_expr(con, ws, source, raw_columns[ws.records.timestamp])
    con.execute(f"CREATE OR REPLACE TEMP VIEW records AS SELECT * REPLACE ({ts_expr} AS {quote(ws.records.timestamp)}) "
                f"FROM {source}")
    columns = {name: typ for name, typ, *_ in con.execute("DESCRIBE SELECT * FROM records").fetchall()}
    if empty():
        raise WorkspaceError(f"{ws.source_file}: records.path", f"{ws.records.path!r} holds no records")
    for metric in ws.metrics:
        _check_metric(con, ws, metric, columns)


def _open_url_records(ws: Workspace, con: duckdb.DuckDBPyConnection, guard: PathGuard | None
                      ) -> tuple[list[str], RecordEngine]:
    """Records behind a URL (object storage): listed and read by Spark alone. DuckDB checks the columns and
    the metrics on an empty table of the same schema (``records_schema``), so both paths give the same
    errors; every scan then runs on Spark."""
    where = f"{ws.source_file}: records.path"
    if ws.engine != "spark":
        raise WorkspaceError(where, f"{ws.records.path!r} is a URL: engine spark reads object storage (set engine: "
                                    "spark, or mount the bucket and give its local path)")
    if guard is not None:
        raise WorkspaceError(where, f"{ws.records.path!r} is a URL: this server reads records from its own "
                                    "folders only (analyse object storage with `cxw analyze` or `cxw job`)")
    from data.spark import list_url_files, read_spark_records, register_spark_records

    listing = list_url_files(ws)
    kinds = {ws.records.format} if ws.records.format != "auto" else {_kind(Path(f.url)) for f in listing.files}
    if kinds != {"parquet"}:
        bad = next((f.url for f in listing.files if _kind(Path(f.url)) != "parquet"), ws.records.path)
        raise WorkspaceError(where, f"{bad}: engine spark reads Parquet records (.parquet files)")
    files = [f.url for f in listing.files]
    frame = read_spark_records(ws, files, "parquet", ws.records.path if listing.folder else None)
    con.register("records_arrow", frame.limit(0).toArrow())
    con.execute("CREATE TEMP TABLE records_schema AS SELECT * FROM records_arrow")
    con.unregister("records_arrow")
    _validate(con, ws, "records_schema", lambda: frame.limit(1).count() == 0)
    return files, register_spark_records(ws, frame)


def open_workspace(path_or_ws: str | Path | Workspace, con: duckdb.DuckDBPyConnection | None = None, *,
                   guard: PathGuard | None = None, engine: EngineName | None = None) -> OpenWorkspace:
    """Validate a workspace against its data and expose the records as the DuckDB view ``records``.

    With ``guard`` (the API server's), the workspace file, the record files and the change log must be
    files the process may open (`data.paths.PathGuard`), each checked before it is opened. ``engine``
    overrides the workspace's ``engine``; for ``spark`` the same checked files are also registered in
    Spark and validated there (`data.spark`).
    """
    if isinstance(path_or_ws, Workspace):
        ws = path_or_ws
        if guard is not None:
            guard.check(ws.source_file, str(ws.source_file), "this file")
    else:
        ws = load_workspace(path_or_ws, guard)
    if con is None:
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # the CLI draws its own (metrics.cube)
    if engine is not None and engine != ws.engine:
        ws = ws.model_copy(update={"engine": engine})
    if is_url(ws.records.path):
        files, scans = _open_url_records(ws, con, guard)
        local: list[Path] = []
    else:
        local, kind = _record_files(ws, guard)
        files = [str(f) for f in local]
        source = _csv_source(con, ws, local) if kind == "csv" else _parquet_source(con, ws, local)
        _validate(con, ws, source,
                  lambda: con.execute("SELECT count(*) FROM (SELECT 1 FROM records LIMIT 1)").fetchone()[0] == 0)
        scans = DuckDBEngine(con)
        if ws.engine == "spark":
            from data.spark import read_spark_records, register_spark_records

            base = str(ws.resolve(ws.records.path)) if ws.resolve(ws.records.path).is_dir() else None
            scans = register_spark_records(ws, read_spark_records(ws, files, kind, base))
    columns = {name: typ for name, typ, *_ in con.execute("DESCRIBE SELECT * FROM records").fetchall()}
    changes: tuple[ChangeEvent, ...] = ()
    if ws.changes is not None:
        where = f"{ws.source_file}: changes.path"
        if guard is not None:
            guard.check(ws.resolve(ws.changes.path), where, repr(ws.changes.path))
        changes = load_change_events(ws.resolve(ws.changes.path), ws.records.dimensions, where=where)
    if is_url(ws.records.path):  # DuckDB's stand-in has served validation: no DuckDB scan may see it as records
        con.execute("DROP VIEW records")
        con.execute("DROP TABLE records_schema")
    _lock_down(con, local)
    return OpenWorkspace(ws, con, columns, tuple(files), changes, scans)

