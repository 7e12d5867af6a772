"""Record engines: where the record-level scans of a workspace run, DuckDB (embedded) or Apache Spark.

Every scan is written once, as DuckDB SQL over the view ``records`` (parameters as ``?``). `DuckDBEngine`
runs it as written. `SparkEngine` parses it with SQLGlot and renders it in Spark SQL (`render_spark`):
the same tree, printed for the other dialect, never a second hand-written query. Parameters are bound
into that tree as typed literals (never spliced into text), and where the two dialects differ in meaning
the rendered SQL says so in a comment at the node concerned (`documents/spark.md` lists the cases):

- ``a / b``: DuckDB returns ±inf or NaN for a zero divisor, Spark (ANSI mode, its default) fails the
  query. The engine's own divisions guard the divisor with ``nullif(b, 0)``, which means NULL in both;
  an unguarded one is rendered as ``try_divide(a, b)`` (NULL, not ±inf/NaN) and marked.
- ``grouping(a, b, ...)`` with more than one argument is DuckDB's bit mask; Spark's ``grouping`` takes one
  argument and its bit mask is ``grouping_id``: rendered as ``grouping_id(...)`` and marked.
- ``sum`` over floating values: Spark adds partial sums in partition order, so results equal DuckDB's
  within rounding (the cube tests hold them to 1e-9 relative), not bit for bit.
- time: the session runs in UTC (``spark.sql.session.timeZone``) and the timestamp column is naive UTC, as
  in DuckDB; ``date_trunc`` is marked so a reader knows why the buckets agree.
- ordering: DuckDB sorts NULLs last, Spark first (ascending); SQLGlot writes ``NULLS LAST`` explicitly.
- ``hash(...)``: the same name, other values (DuckDB's own hash, Spark's Murmur3): marked; nothing may match
  or order records by a hash computed on the other engine (the reconciliation compares values on Spark).
- ``SEMI JOIN`` / ``ANTI JOIN``, ``count(*) FILTER (WHERE ...)``, ``GROUP BY ALL``: written as in DuckDB,
  and Spark (3.4 and later) reads them with the same meaning (``ANTI JOIN`` keeps a row whose key is NULL
  in both, as ``NOT EXISTS`` does), so they are rendered unchanged.
- hashing: DuckDB's ``hash`` and Spark's ``hash``/``xxhash64`` are different functions. A seeded sample
  orders records by `sample_key`, an ``md5`` (RFC 1321) of the record's text and of an integer fingerprint
  of its numbers, dates and timestamps, computed alike in both engines, so both draw the same records.

Results come back as Arrow (``toArrow``), timestamps as naive UTC, so callers see the same values from
both engines. `RecordEngine.rows` runs a query under a time limit: DuckDB interrupts its connection, Spark
cancels the query's jobs by a tag of their own (`SparkContext.cancelJobsWithTag`); both raise `QueryTimeout`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
import threading
from itertools import count
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EngineName = Literal["duckdb", "spark"]
BATCH_ROWS = 1 << 17


class QueryTimeout(Exception):
    """A query stopped at its time limit (`RecordEngine.rows`)."""


class RecordEngine(Protocol):
    """What a scan needs from an engine: run one SELECT over the view ``records`` (or a table made with
    `materialize`) and hand back its rows."""

    name: EngineName

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]: ...

    def rows(self, sql: str, params: Sequence[Any] = (),
             timeout_seconds: float | None = None) -> list[tuple[Any, ...]]: ...

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]: ...

    def materialize(self, name: str, sql: str) -> None: ...

    def define(self, name: str, sql: str) -> None: ...

    def drop(self, name: str) -> None: ...

    def restrict(self, where: str) -> None: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """The embedded default: the workspace's DuckDB connection, external access off (`data.sources`)."""

    name: EngineName = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        # every row fetched: a result left unfinished would make the connection refuse the next ``con.sql``
        found = self.con.execute(sql, list(params)).fetchall()
        return tuple(found[0]) if found else ()

    def rows(self, sql: str, params: Sequence[Any] = (),
             timeout_seconds: float | None = None) -> list[tuple[Any, ...]]:
        """Every row; with ``timeout_seconds``, the connection is interrupted then (`QueryTimeout`)."""
        if timeout_seconds is None:
            return self.con.execute(sql, list(params)).fetchall()
        timer = threading.Timer(timeout_seconds, self.con.interrupt)
        timer.start()
        try:
            return self.con.execute(sql, list(params)).fetchall()
        except duckdb.InterruptException:
            raise QueryTimeout(f"stopped after {timeout_seconds:g} s") from None
        finally:
            timer.cancel()

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def define(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        """Nothing of its own: the connection is the workspace's (`data.sources.OpenWorkspace.close`)."""

    def restrict(self, where: str) -> None:
        """Limit the view ``records`` to the workspace's records matching ``where`` (SQL without parameters:
        a view takes none), every record still under ``records_unlimited``; callable again. DuckDB pushes the
        filter into the Parquet scan, so row groups and files it excludes are skipped."""
        known = self.con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'records_unlimited'")
        if known.fetchone()[0]:
            self.con.execute("DROP VIEW records")
        else:
            self.con.execute("ALTER VIEW records RENAME TO records_unlimited")
        self.con.execute(f"CREATE TEMP VIEW records AS SELECT * FROM records_unlimited WHERE {where}")


def _literal(value: Any) -> exp.Expression:
    """A bound parameter as a typed SQL literal node."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value))
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"cannot bind a {type(value).__name__} as a SQL parameter")


def _guarded(divisor: exp.Expression) -> bool:
    """A divisor that is never zero: a non-zero number, or ``nullif(x, 0)`` (NULL instead of zero)."""
    if isinstance(divisor, exp.Literal) and divisor.is_number:
        return divisor.to_py() != 0
    return (isinstance(divisor, exp.Nullif) and isinstance(divisor.expression, exp.Literal)
            and divisor.expression.to_py() == 0)


def _mark_dialect_differences(node: exp.Expression) -> exp.Expression:
    """Rewrite and comment the nodes whose meaning differs between DuckDB and Spark (module docstring)."""
    if isinstance(node, exp.Div):
        divisor = node.expression.unnest()
        if _guarded(divisor):
            node.add_comments(["division: a non-zero or nullif(.., 0) divisor, the same in DuckDB and Spark"])
            return node
        safe = exp.Anonymous(this="try_divide", expressions=[node.this, node.expression])
        safe.add_comments(["division: DuckDB gives +-inf/NaN for a zero divisor, Spark NULL (try_divide)"])
        return safe
    if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
        mask = exp.Anonymous(this="grouping_id", expressions=list(node.expressions))
        mask.add_comments(["multi-argument GROUPING: DuckDB's bit mask is Spark's grouping_id"])
        return mask
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        node.add_comments(["hash: DuckDB's hash() and Spark's (Murmur3) give other values for the same input; "
                           "a hash is never compared across engines (compare the values)"])
    if isinstance(node, exp.Sum):
        node.add_comments(["sum: exact for integers; floats added in partition order, equal to DuckDB within rounding"])
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
        node.add_comments(["time zone: naive UTC timestamps, spark.sql.session.timeZone=UTC"])
    return node


def _numbered(sql: str) -> str:
    """``?`` parameters renumbered ``$1, $2, ...`` in the order they appear (found by SQLGlot's tokenizer,
    so a ``?`` inside a string or a comment is left alone): the tree is then bound by number, not by the
    order in which a tree walk happens to meet them."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    holes = [t.start for t in tokens if t.token_type == sqlglot.TokenType.PLACEHOLDER and t.text == "?"]
    for k, at in reversed(list(enumerate(holes, start=1))):
        sql = f"{sql[:at]}${k}{sql[at + 1:]}"
    return sql


def render_spark(sql: str, params: Sequence[Any] = (), tables: Mapping[str, str] | None = None) -> str:
    """DuckDB SQL (one statement, ``?`` parameters) rendered as Spark SQL, parameters bound as literals and
    the tables named in ``tables`` (``records``, ``wide``) renamed to the session's views of them."""
    tree = sqlglot.parse_one(_numbered(sql), read="duckdb")
    for table in tree.find_all(exp.Table):
        if tables and not table.db and table.name in tables:
            table.set("this", exp.to_identifier(tables[table.name]))
    holes = list(tree.find_all(exp.Placeholder))
    if len(holes) != len(params):
        raise ValueError(f"{len(holes)} parameters in the query, {len(params)} given")
    for hole in holes:
        hole.replace(_literal(params[int(hole.this) - 1]))
    tree = tree.transform(_mark_dialect_differences)
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


# DuckDB types whose values are integers in both engines, as SQL for |value| <= 2^31 (a BIGINT and a timestamp's
# epoch microseconds reduced mod 2^31 - 1; a date as epoch days), and text. Floats (their text differs between
# the engines) and decimals are left out of sample keys.
_PRIME = 2 ** 31 - 1
_NUMBERED = {"INTEGER": "{}", "SMALLINT": "{}", "TINYINT": "{}", "BOOLEAN": "CAST({} AS INTEGER)",
             "BIGINT": f"{{}} % {_PRIME}",
             "TIMESTAMP": f"date_diff('microsecond', TIMESTAMP '1970-01-01', {{}}) % {_PRIME}",
             "DATE": "date_diff('day', DATE '1970-01-01', {})"}
_BASE = 48271
_TERMS = 127  # the powers of _BASE mod 2^24 (< 2^24) times values up to 2^31, summed 127 at a time: below 2^62


def sample_key(columns: Mapping[str, str], seed: int, record_id: str | None = None) -> str:
    """DuckDB SQL for a record's seeded sample key, the same text on DuckDB and on Spark (rendered): the
    lowercase hex md5 (RFC 1321) of the seed and of the record's id (``record_id``, the workspace's
    ``records.id``: an integer or text column) when it has one; otherwise of the seed, the record's text
    ``columns`` (name → DuckDB type) and a fingerprint of its integer, boolean, date and timestamp columns.

    The id's key costs 2.4 CPU seconds per 10M records on DuckDB against 6.2 for the whole record's, and
    draws a uniform sample as long as the ids are unique (records sharing an id share a key, so they are
    drawn together); a record whose id is NULL gets its whole record's key.

    The fingerprint is Σ vᵢ·cᵢ mod p: vᵢ the column's value (reduced mod p = 2³¹−1 when it may be larger,
    2³¹ for NULL), cᵢ = bⁱ mod 2²⁴ for a fixed base b, the products summed 127 at a time so that no sum
    overflows a BIGINT in either engine. A polynomial fingerprint in the manner of Karp & Rabin (1987,
    "Efficient randomized pattern-matching algorithms", IBM J. Res. Dev. 31(2)): exact integer arithmetic
    in both engines, and cheaper than printing every number (the key costs 0.7 CPU seconds per million
    records on DuckDB, printing every number 1.25); md5 then orders the records at random. Floating and
    decimal columns are left out (the engines print them differently). Ordering by the key draws a uniform,
    reproducible sample; records that differ only in floats (or whose fingerprints collide, about one pair
    in 2³¹) share a key, so a sample that orders by it breaks ties by its columns."""
    from data.sources import quote  # data.sources opens workspaces on these engines

    parts = [f"'{int(seed)}'"]
    terms: list[str] = []
    for name, kind in columns.items():
        if kind == "VARCHAR":
            parts.append(quote(name))
        elif kind in _NUMBERED:
            value = _NUMBERED[kind].format(quote(name))
            terms.append(f"coalesce(CAST({value} AS BIGINT), {1 << 31}) * {pow(_BASE, len(terms) + 1, 1 << 24)}")
    if terms:
        sums = [f"({' + '.join(terms[at:at + _TERMS])}) % {_PRIME}" for at in range(0, len(terms), _TERMS)]
        total = sums[0] if len(sums) == 1 else f"({' + '.join(sums)}) % {_PRIME}"
        parts.append(f"CAST({total} AS VARCHAR)")
    whole = f"md5(concat_ws('|', {', '.join(parts)}))"
    if record_id is None:
        return whole
    # the id's text is the same in both engines for integers and text (`data.sources` admits no other type)
    by_id = f"md5(concat_ws('|', '{int(seed)}', 'id', CAST({quote(record_id)} AS VARCHAR)))"
    return f"(CASE WHEN {quote(record_id)} IS NULL THEN {whole} ELSE {by_id} END)"


def key_below(key: str, share: float) -> str:
    """A predicate that holds for a uniform ``share`` of the records: the `sample_key` ``key`` (32 hex
    digits, a number in [0, 2^128)) below ``share`` × 2^128, compared as text (lowercase hex of one length
    sorts as its numbers), the same in both engines."""
    if share >= 1:
        return "TRUE"
    return f"{key} < '{int(max(share, 0.0) * 2 ** 128):032x}'"


def naive_utc(table: pa.Table) -> pa.Table:
    """Spark hands timestamps over as UTC instants; the engine's contract is naive UTC (as DuckDB's)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


_views = count()
_tags = count()
CANCEL_EVERY = 0.02  # seconds between a timed-out query's cancellations (`SparkEngine.within`)


class SparkEngine:
    """Scans on Apache Spark. Each engine has its own names for the temporary views it queries (the
    workspace's ``records``, a materialized ``wide``), so workspaces opened in one session never read each
    other's records; `view` gives the session's name of one."""

    name: EngineName = "spark"

    def __init__(self, session: SparkSession):
        self.session = session
        self.tables: dict[str, str] = {}
        self.prefix = f"cxw{next(_views)}_"

    def view(self, name: str) -> str:
        """The session's temporary view behind the query's table ``name``."""
        return self.tables.setdefault(name, self.prefix + name)

    def render(self, sql: str, params: Sequence[Any] = ()) -> str:
        return render_spark(sql, params, self.tables)

    def table(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return naive_utc(self.session.sql(self.render(sql, params)).toArrow())

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        # DECIMAL columns (sums of literals such as 1.0) as float64, as DuckDB's ``df()`` hands them over
        table = self.table(sql, params)
        return pa.Table.from_arrays([c.cast(pa.float64()) if pa.types.is_decimal(c.type) else c for c in table.columns],
                                    names=table.column_names).to_pandas()

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        table = self.table(sql, params)  # by position: two aggregates may carry the same generated name
        return tuple(column[0].as_py() for column in table.columns) if table.num_rows else ()

    def rows(self, sql: str, params: Sequence[Any] = (),
             timeout_seconds: float | None = None) -> list[tuple[Any, ...]]:
        """Every row (by position); with ``timeout_seconds``, see `within`."""
        table = self.table(sql, params) if timeout_seconds is None else self.within(sql, params, timeout_seconds)
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def within(self, sql: str, params: Sequence[Any], timeout_seconds: float) -> pa.Table:
        """`table` under a time limit: the query's jobs carry a tag of their own (`SparkContext.addJobTag`,
        for this thread only) and are cancelled by it after ``timeout_seconds`` (`QueryTimeout`). A
        cancellation reaches only the jobs running then, so it is repeated until the query has stopped (a
        limit reached while Spark still plans the query cancels its first job)."""
        context = self.session.sparkContext
        tag = f"{self.prefix}query{next(_tags)}"
        stopped, done = threading.Event(), threading.Event()

        def cancel() -> None:
            stopped.set()
            while not done.is_set():
                context.cancelJobsWithTag(tag)
                done.wait(CANCEL_EVERY)

        timer = threading.Timer(timeout_seconds, cancel)
        context.addJobTag(tag)
        timer.start()
        try:
            return self.table(sql, params)
        except Exception:
            if stopped.is_set():  # the cancelled job's error, whatever PySpark wraps it in
                raise QueryTimeout(f"stopped after {timeout_seconds:g} s") from None
            raise
        finally:
            done.set()
            timer.cancel()
            timer.join()
            context.removeJobTag(tag)

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.table(sql).to_batches(BATCH_ROWS)

    def materialize(self, name: str, sql: str) -> None:
        frame = self.session.sql(self.render(sql))
        frame.cache().count()  # computed once here, reused by every later query on ``name``
        frame.createOrReplaceTempView(self.view(name))

    def define(self, name: str, sql: str) -> None:
        """A view ``name`` computed where it is read (`materialize` computes and caches it once)."""
        self.session.sql(self.render(sql)).createOrReplaceTempView(self.view(name))

    def drop(self, name: str) -> None:
        view = self.tables.pop(name, None)
        if view is not None and self.session.catalog.tableExists(view):
            self.session.table(view).unpersist()
            self.session.catalog.dropTempView(view)

    def close(self) -> None:
        """Drop every temporary view of this engine (the records and what was materialized): a long-running
        session, as the API server's, keeps only the workspaces still open."""
        for name in list(self.tables):
            self.drop(name)

    def restrict(self, where: str) -> None:
        """`DuckDBEngine.restrict` on Spark: the session's view of ``records`` becomes the records matching
        ``where``, the whole records kept under ``records_unlimited``; callable again."""
        if "records_unlimited" not in self.tables:
            self.tables["records_unlimited"] = self.tables.pop("records")
        limited = self.session.sql(self.render(f"SELECT * FROM records_unlimited WHERE {where}"))
        limited.createOrReplaceTempView(self.view("records"))
