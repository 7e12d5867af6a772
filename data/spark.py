"""The workspace's records on Apache Spark: the session, the view ``records``, and its validation there.

`read_spark_records` and `register_spark_records` are called by `data.sources.open_workspace` for a
workspace whose engine is ``spark``, after DuckDB has validated the workspace against the same files and the
`data.paths.PathGuard` (when there is one) has checked every one of them: Spark opens exactly that checked
list of Parquet files and nothing else. A URL ``records.path`` (object storage) is listed here
(`list_url_files`, through the Hadoop file system of its scheme) and read by Spark alone. The timestamp column becomes naive UTC as in DuckDB (the session's time zone is UTC),
and every metric expression is rendered for Spark (`data.engines.render_spark`) and analysed by Spark
before any work starts, so a difference between the dialects is a clear error at validation, never a
wrong number later. What Spark cannot read the way DuckDB does is refused with one line: CSV records
(DuckDB sniffs delimiter and encoding), timestamps stored as text (parsed by DuckDB's rules), floating-point
dimensions (their text labels differ between the engines).

The session: `spark_session` uses the active one if there is one (a ``spark-submit`` job or a test's),
else builds one from ``spark.master`` (default ``local[*]``) and ``spark.config`` of the workspace, with the
UI off and the time zone UTC. A local master binds to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from data.engines import SparkEngine
from data.errors import UserError, WorkspaceError
from data.workspace import Workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Settings the engine relies on: the records' naive UTC timestamps and the buckets depend on the time zone.
REQUIRED_CONFIG = {"spark.sql.session.timeZone": "UTC"}
DEFAULT_CONFIG = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
# Local mode: loopback only, and a few shuffle partitions (Spark's default of 200 is for clusters).
LOCAL_CONFIG = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1))}
TEXT_DIMENSION_TYPES = ("StringType", "VarcharType", "CharType", "ByteType", "ShortType", "IntegerType",
                        "LongType", "BooleanType", "DateType")


def _import_pyspark() -> None:
    """Silence pyspark's warning that it does not yet fully support pandas 3 (the engine converts through
    Arrow, not pyspark's pandas path), so a command's output stays one line per message."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def _check_java() -> None:
    """Java 17 or later where PySpark looks for it (``$JAVA_HOME/bin/java``, else ``java`` on the PATH), or
    one `UserError` saying so: PySpark itself would fail with a Java gateway traceback."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    where = f"JAVA_HOME ({home})" if home else "the PATH"
    if not java or not os.access(java, os.X_OK):
        raise UserError(f"engine spark needs Java 17 or later: no java in {where} (`make setup` installs Debian's "
                        "openjdk-17-jre-headless; scripts/install-java.sh)")
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError) as err:
        raise UserError(f"engine spark needs Java 17 or later: {java} -version failed ({err})") from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    major = int(found.group(2) if found and found.group(1) == "1" else found.group(1)) if found else 0
    if major < 17:
        raise UserError(f"engine spark needs Java 17 or later: {java} is {'version ' + str(major) if major else 'unknown'} "
                        "(set JAVA_HOME to a Java 17)")


def spark_session(master: str | None = None, config: Mapping[str, str] | None = None) -> SparkSession:
    """The active Spark session, or a new one (see the module docstring)."""
    _import_pyspark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        _check_java()
        master = master or SparkConf().get("spark.master", "local[*]")
        settings = {**DEFAULT_CONFIG, **(config or {}), **REQUIRED_CONFIG}
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            settings = {**LOCAL_CONFIG, **settings}
        builder = SparkSession.builder.master(master).appName("cxw")
        for key, value in settings.items():
            builder = builder.config(key, value)
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    for key, value in REQUIRED_CONFIG.items():
        active.conf.set(key, value)
    return active


def _timestamp_column(frame: DataFrame, ws: Workspace, where: str) -> str:
    """Spark SQL for the timestamp column as naive UTC (``TIMESTAMP_NTZ``)."""
    spec = ws.records
    col = "`" + spec.timestamp.replace("`", "``") + "`"
    kind = type(frame.schema[spec.timestamp].dataType).__name__
    if kind in ("TimestampType", "TimestampNTZType", "DateType"):
        return f"CAST({col} AS TIMESTAMP_NTZ)"  # an instant in the session's time zone (UTC) or a wall time
    if kind in ("ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType"):
        unit = spec.timestamp_unit
        if unit == "auto":  # the same rule as DuckDB's path (`data.sources`)
            found = frame.selectExpr(f"max(abs(CAST({col} AS DOUBLE)))").first()
            biggest = (found[0] if found is not None else None) or 0
            unit = "us" if biggest > 1e14 else "ms" if biggest > 1e11 else "s"
        scale = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
        return f"CAST(timestamp_micros(CAST(round({col} * {scale}) AS BIGINT)) AS TIMESTAMP_NTZ)"
    raise WorkspaceError(where, f"column {spec.timestamp!r} is {kind} in Parquet; engine spark reads "
                                "timestamps stored as Parquet timestamps, dates or epoch numbers (not text)")


def _check_dimensions(frame: DataFrame, ws: Workspace) -> None:
    for name in ws.records.dimensions:
        kind = type(frame.schema[name].dataType).__name__
        if kind not in TEXT_DIMENSION_TYPES:
            raise WorkspaceError(f"{ws.source_file}: records.dimensions",
                                 f"column {name!r} is {kind}; engine spark needs text, integer, boolean or date "
                                 "dimensions (the labels of other types differ from DuckDB's)")


def _check_metrics(engine: SparkEngine, ws: Workspace) -> None:
    """Every metric expression renders for Spark and Spark's analyser gives it the type its metric needs."""
    from pyspark.errors import PySparkException

    for metric in ws.metrics:
        fields = {"rate": ["expr"], "mean": ["expr"], "ratio": ["numerator", "denominator"]}.get(metric.type, [])
        for key in fields:
            expr = getattr(metric, key)
            where = f"{ws.source_file}: metrics.{metric.name}.{key}"
            try:
                schema = engine.session.sql(engine.render(f"SELECT ({expr}) AS x FROM records")).schema
            except PySparkException as err:
                problem = str(err).splitlines()[0]
                raise WorkspaceError(where, f"{expr} does not compile on Spark: {problem}") from None
            except Exception as err:  # SQLGlot: a function Spark has no rendering for
                raise WorkspaceError(where, f"{expr} cannot be rendered for Spark: {err}") from None
            kind = type(schema["x"].dataType).__name__
            if metric.type == "rate" and kind != "BooleanType":
                raise WorkspaceError(where, f"{expr} has type {kind} on Spark; a rate needs a true/false expression")


@dataclass(frozen=True)
class StoredFile:
    """One record file behind a URL, as Hadoop's file system lists it."""

    url: str
    size: int
    modified_ms: int


@dataclass(frozen=True)
class UrlListing:
    """The record files behind a URL ``records.path``; ``folder``: the URL names one folder (its hive
    ``key=value`` subfolders are columns)."""

    files: tuple[StoredFile, ...]
    folder: bool


def _hidden(name: str) -> bool:
    """Spark's own rule for files it skips in a folder: ``_SUCCESS``, ``_committed_…``, ``.crc`` files."""
    return name.startswith(("_", "."))


def list_url_files(ws: Workspace, session: SparkSession | None = None) -> UrlListing:
    """The Parquet files behind a URL ``records.path`` (a file, a folder listed recursively, or a glob),
    listed by the Hadoop file system of its scheme (``s3a``, ``abfss``, ``gs``, ``hdfs``, ``file``), sorted.

    A scheme without a file system on this Spark (its connector jar missing), a URL that matches nothing,
    and a folder without Parquet files are one `WorkspaceError` each, naming ``records.path``."""
    _import_pyspark()
    from py4j.protocol import Py4JJavaError

    from data.sources import PARQUET_SUFFIXES

    session = session or spark_session(ws.spark.master, ws.spark.config)
    url, where = ws.records.path, f"{ws.source_file}: records.path"
    jvm, jsc = session._jvm, session._jsc  # Hadoop's FileSystem API has no Python binding
    if jvm is None or jsc is None:
        raise WorkspaceError(where, "a URL needs a classic Spark session (Spark Connect cannot list files)")
    hadoop_path = jvm.org.apache.hadoop.fs.Path(url)
    try:
        fs = hadoop_path.getFileSystem(jsc.hadoopConfiguration())
        statuses = fs.globStatus(hadoop_path) or []
        found: list[StoredFile] = []
        for status in statuses:
            if status.isFile():
                found.append(StoredFile(status.getPath().toString(), status.getLen(), status.getModificationTime()))
                continue
            listing = fs.listFiles(status.getPath(), True)
            while listing.hasNext():
                f = listing.next()
                name = f.getPath().getName()
                if not _hidden(name) and (ws.records.format == "parquet" or name.lower().endswith(PARQUET_SUFFIXES)):
                    found.append(StoredFile(f.getPath().toString(), f.getLen(), f.getModificationTime()))
    except Py4JJavaError as err:
        java = err.java_exception
        kind, message = java.getClass().getSimpleName(), str(java.getMessage() or "")
        if kind == "UnsupportedFileSystemException" or "ClassNotFoundException" in message:  # no connector jar
            scheme = url.split("://", 1)[0]
            raise WorkspaceError(where, f"this Spark has no file system for {scheme}:// URLs; add its connector "
                                        "(e.g. spark.jars.packages org.apache.hadoop:hadoop-aws for s3a) and its "
                                        "spark.hadoop.* keys to spark.config") from None
        raise WorkspaceError(where, f"cannot list {url!r}: {kind}: {message.splitlines()[0] if message else ''}"
                             ) from None
    if not statuses:
        raise WorkspaceError(where, f"{url!r} does not exist or matches nothing")
    if not found:
        raise WorkspaceError(where, f"{url!r} holds no Parquet files")
    folder = len(statuses) == 1 and statuses[0].isDirectory() and not any(ch in url for ch in "*?[")
    return UrlListing(tuple(sorted(found, key=lambda f: f.url)), folder)


def read_spark_records(ws: Workspace, files: Sequence[str], kind: str, base: str | None,
                       session: SparkSession | None = None) -> DataFrame:
    """``files`` (already listed and checked, see the module docstring) as a Spark DataFrame, read as is;
    ``base``: the records folder, so that hive ``key=value`` folders under it become columns as in DuckDB."""
    _import_pyspark()
    if kind != "parquet":
        raise WorkspaceError(f"{ws.source_file}: records.path",
                             "engine spark reads Parquet records; convert the CSV files to Parquet (e.g. `duckdb -c "
                             "\"COPY (FROM 'x.csv') TO 'x.parquet'\"`) or use engine duckdb")
    session = session or spark_session(ws.spark.master, ws.spark.config)
    reader = session.read.option("mergeSchema", "true")
    if base is not None:
        reader = reader.option("basePath", base)
    return reader.parquet(*files)


def register_spark_records(ws: Workspace, frame: DataFrame) -> SparkEngine:
    """Validate the records ``frame`` on Spark and register it, timestamps as naive UTC, as the view
    ``records`` of a new `SparkEngine`."""
    from pyspark.sql import functions

    _check_dimensions(frame, ws)
    ts = _timestamp_column(frame, ws, f"{ws.source_file}: records.timestamp")
    frame = frame.withColumn(ws.records.timestamp, functions.expr(ts))
    engine = SparkEngine(frame.sparkSession)
    frame.createOrReplaceTempView(engine.view("records"))
    _check_metrics(engine, ws)
    return engine
