"""Compile an `Intent` into one read-only SELECT over the workspace's records, and run it with limits.

The query is built from the same pieces as the metric cube (`metrics.cube.metric_inputs`,
`metric_aggregates`, `long_select`, `composite_select`), so a question's number is the cube's number for
the same records. Identifiers come only from the workspace's declared timestamp and dimensions (checked
here, quoted); every value — dimension values, time bounds — is a bound parameter. Before it runs, the
statement is parsed (sqlglot) and refused unless it is a single SELECT reading only ``records`` and its
own common table expressions. It runs on the workspace's engine (`data.engines`: DuckDB's connection,
which has external access off, `data.sources`; or Spark, which renders the same statement), under a time
limit (the engine interrupts the query) and a row limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlglot
from sqlglot import exp

from data.engines import QueryTimeout
from data.errors import UserError
from data.sources import OpenWorkspace, quote
from data.workspace import MetricSpec
from metrics.cube import composite_select, long_select, metric_aggregates, metric_inputs
from metrics.definitions import base_metrics, dimension_in, label_sql
from metrics.questions.intent import Intent
from metrics.questions.vocabulary import Vocabulary

MAX_ROWS = 20_000
OWN_TABLES = {"records", "base", "wide"}
CURRENT, PREVIOUS = "current", "previous"


class IntentError(UserError):
    """An intent (from a context, or from a language model) that does not fit the workspace."""


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    parameters: tuple[object, ...]


@dataclass(frozen=True)
class QueryRow:
    """One (period, group) row: the metric's value with its sums, or a count."""

    period: str
    label: str | None
    value: float | None
    numerator: float | None
    denominator: float | None
    records: int


def check_intent(intent: Intent, vocab: Vocabulary) -> None:
    """Raise `IntentError` unless every name in ``intent`` is the workspace's and its parts fit together."""
    m = intent.measure
    if m.kind == "reconciliation":
        raise IntentError("a reconciliation question needs a reconciliation output, not a workspace")
    spec = vocab.metric(m.metric) if m.metric else None
    if m.metric and spec is None:
        raise IntentError(f"measure.metric: {m.metric!r} is not a metric of this workspace "
                          f"({', '.join(x.name for x in vocab.metrics)})")
    if m.kind == "metric" and spec is None:
        raise IntentError("measure.metric: a metric question needs a metric")
    if m.kind == "count" and spec is not None and spec.type != "rate":
        raise IntentError(f"measure.metric: only a rate's condition can be counted, {spec.name!r} is a {spec.type}")
    if m.negated and (spec is None or spec.type != "rate"):
        raise IntentError("measure.negated: only a rate can be negated")
    for f in intent.filters:
        if f.dimension not in vocab.dimensions:
            raise IntentError(f"filters.dimension: {f.dimension!r} is not a dimension of this workspace "
                              f"({', '.join(vocab.dimensions)})")
    if intent.group_by is not None and intent.group_by not in vocab.dimensions:
        raise IntentError(f"group_by: {intent.group_by!r} is not a dimension of this workspace "
                          f"({', '.join(vocab.dimensions)})")
    if intent.ranking is not None and intent.group_by is None:
        raise IntentError("ranking: a ranking needs group_by")
    if intent.ranking is not None and intent.ranking.by == "change" and intent.compare is None:
        raise IntentError("ranking.by: ranking by change needs a comparison period")
    for key, rng in (("time", intent.time), ("compare", intent.compare)):
        if rng is not None and rng.end <= rng.start:
            raise IntentError(f"{key}: the range ends before it starts")
    if intent.compare is not None and intent.time is None:
        raise IntentError("compare: a comparison needs a time range")


def compile_intent(intent: Intent, vocab: Vocabulary, timestamp: str) -> CompiledQuery:
    """The SELECT answering ``intent`` (checked with `check_intent` first) and its bound parameters.

    Columns of the result: ``ts`` (``current`` or ``previous``: the period), ``slice`` (the group's label as
    in the cube, `metrics.definitions.NULL_LABEL` for records without a value; NULL without grouping),
    ``metric``, ``value``, ``numerator``, ``denominator``, ``n``.
    """
    check_intent(intent, vocab)
    params: list[object] = []
    ts = quote(timestamp)
    m = intent.measure
    spec = vocab.metric(m.metric) if m.metric else None
    inputs: list[str] = []
    parts: list[MetricSpec] = base_metrics(vocab.metrics, [spec.name]) if spec is not None else []
    index = {c.name: i for i, c in enumerate(parts)}
    for c in parts:
        inputs += metric_inputs(c, index[c.name])
    if intent.compare is not None and intent.time is not None:
        period = f"CASE WHEN {ts} >= ? AND {ts} < ? THEN '{CURRENT}' ELSE '{PREVIOUS}' END"
        params += [intent.time.start, intent.time.end]
    else:
        period = f"'{CURRENT}'"
    group = label_sql(quote(intent.group_by)) if intent.group_by else "CAST(NULL AS VARCHAR)"
    where: list[str] = []
    ranges = [r for r in (intent.time, intent.compare) if r is not None]
    if ranges:
        where.append("(" + " OR ".join(f"({ts} >= ? AND {ts} < ?)" for _ in ranges) + ")")
        for r in ranges:
            params += [r.start, r.end]

    def bind(value: str) -> str:
        params.append(value)
        return "?"

    for f in intent.filters:
        where.append(dimension_in(f.dimension, f.values, bind))
    cols = [f"{period} AS ts", f"{group} AS slice"] + inputs
    base = f"SELECT {', '.join(cols)} FROM records" + (f" WHERE {' AND '.join(where)}" if where else "")
    aggs = [a for c in parts for a in metric_aggregates(c, index[c.name])]
    if m.kind == "count":
        selected = "count(*)" if spec is None else f"count(*) FILTER (WHERE x0 = {0 if m.negated else 1})"
        wide = f"SELECT ts, slice, count(*) AS n, {selected} AS hits FROM base GROUP BY ts, slice"
        final = ("SELECT ts, slice, 'records' AS metric, CAST(hits AS DOUBLE) AS value, CAST(hits AS DOUBLE) AS "
                 "numerator, NULL::DOUBLE AS denominator, n FROM wide")
    else:
        assert spec is not None
        wide = f"SELECT ts, slice, count(*) AS n, {', '.join(aggs)} FROM base GROUP BY ts, slice"
        chosen = (composite_select(spec, index, parts) if spec.type == "composite"
                  else long_select(spec, index[spec.name]))
        final = f"SELECT ts, slice, metric, value, numerator, denominator, n FROM ({chosen})"
    sql = f"WITH base AS ({base}), wide AS ({wide}) {final} ORDER BY ts, slice LIMIT {MAX_ROWS + 1}"
    check_read_only(sql)
    return CompiledQuery(sql, tuple(params))


def check_read_only(sql: str) -> None:
    """Refuse (AssertionError: this is the compiler's own invariant) anything but one SELECT over
    ``records`` and the query's own common table expressions."""
    statements = sqlglot.parse(sql, read="duckdb")
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise AssertionError("a compiled question must be exactly one SELECT")
    tree = statements[0]
    for node in tree.walk():
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command,
                             exp.Copy, exp.Attach, exp.Pragma, exp.Set)):
            raise AssertionError(f"a compiled question may only read ({type(node).__name__} found)")
    tables = {t.name for t in tree.find_all(exp.Table)}
    if not tables <= OWN_TABLES:
        raise AssertionError(f"a compiled question may only read records ({sorted(tables - OWN_TABLES)} found)")
    if any(isinstance(f, exp.Anonymous) and f.name.lower().startswith("read_") for f in tree.find_all(exp.Func)):
        raise AssertionError("a compiled question may not call a table function")


def run_query(ow: OpenWorkspace, query: CompiledQuery, timeout_seconds: float = 10.0) -> list[QueryRow]:
    """Run ``query`` on the workspace's engine, interrupted after ``timeout_seconds``; refuse a result of
    more than `MAX_ROWS` rows."""
    try:
        rows = ow.engine.rows(query.sql, query.parameters, timeout_seconds)
    except QueryTimeout:
        raise UserError(f"the question took longer than {timeout_seconds:g} s; narrow it (a time range, a filter)") from None
    if len(rows) > MAX_ROWS:
        raise UserError(f"the answer would have more than {MAX_ROWS:,} rows; add a filter or ask for a top N")
    return [QueryRow(period=r[0], label=r[1], value=_num(r[3]), numerator=_num(r[4]), denominator=_num(r[5]),
                     records=int(r[6])) for r in rows]


def _num(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def shown_parameters(params: tuple[object, ...]) -> tuple[str, ...]:
    """Parameters as text for the answer (timestamps in ISO form)."""
    return tuple(p.isoformat(sep=" ") if isinstance(p, datetime) else str(p) for p in params)
