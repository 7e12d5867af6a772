"""Comparison definitions compiled to diff SQL: which column pairs are compared, how, and what differs.

A reconciliation joins the legacy and migrated records on their key; comparison ``i`` reads the legacy
value from column ``l{i}`` and the migrated value from ``m{i}`` of the matched records that differ
(``diffrows``, `build_findings`).
`column_stats` runs one aggregate query for every comparison at once; `differences_sql` is the long
table of every field that differs (one row per record × column), with the ``legacy → migrated`` value
pattern each difference belongs to. Numbers differ when ``|migrated − legacy|`` exceeds the column's
tolerance; dates and text when they are not the same value; a value missing on one side only differs.
"""

from __future__ import annotations

from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

from data.engines import RecordEngine
from data.pairs import SideSQL, kept_rows, set_aside
from data.sources import quote, sql_literal

Kind = Literal["amount", "number", "date", "text"]
MISSING = "∅"


class Comparison(BaseModel):
    """One compared column: its name on each side, how it is compared, and its numeric tolerance."""

    model_config = ConfigDict(frozen=True)

    index: int
    column: str  # the legacy name, used in every finding
    migrated_column: str
    legacy_position: int  # the column's position in its file (``c{position}`` of the clean side table)
    migrated_position: int
    kind: Kind
    tolerance: float = 0.0
    same_raw: bool = False  # raw values of both sides have one type and one parsing: equal raw, equal parsed

    @property
    def numeric(self) -> bool:
        return self.kind in ("amount", "number")

    @property
    def legacy_sql(self) -> str:
        return quote(f"l{self.index}")

    @property
    def migrated_sql(self) -> str:
        return quote(f"m{self.index}")


class ColumnStats(BaseModel):
    """How one compared column fares over the matched records (abs differences over rows with both values)."""

    model_config = ConfigDict(frozen=True)

    column: str
    kind: Kind
    tolerance: float
    compared: int
    differ: int
    match_rate: float
    null_legacy_only: int
    null_migrated_only: int
    max_abs_difference: float | None
    total_abs_difference: float | None


def differs_sql(c: Comparison) -> str:
    """SQL that is true when comparison ``c`` differs in a row of ``matched``."""
    l, m = c.legacy_sql, c.migrated_sql
    if c.numeric:
        tol = repr(float(c.tolerance))
        return (f"((({l}) IS NULL) <> (({m}) IS NULL) OR abs({m} - {l}) > {tol} + 1e-9 * greatest(abs({l}), abs({m})))")
    return f"({l} IS DISTINCT FROM {m})"


def _as_text(expr: str, kind: Kind) -> str:
    if kind == "date":
        return (f"CASE WHEN {expr} = date_trunc('day', {expr}) THEN strftime({expr}, '%Y-%m-%d') "
                f"ELSE strftime({expr}, '%Y-%m-%d %H:%M:%S') END")
    if kind in ("amount", "number"):
        return f"CAST(round({expr}, 6) AS VARCHAR)"
    return f"CAST({expr} AS VARCHAR)"


def pattern_sql(c: Comparison) -> str:
    """The value pattern of a difference: ``legacy → migrated`` for text, the shift in days for dates, the direction
    for numbers (and a value missing on one side for either)."""
    l, m = c.legacy_sql, c.migrated_sql
    if c.numeric:
        return (f"CASE WHEN {l} IS NULL THEN '{MISSING} → value' WHEN {m} IS NULL THEN 'value → {MISSING}' "
                f"WHEN {m} > {l} THEN 'increased' ELSE 'decreased' END")
    if c.kind == "date":
        days = f"date_diff('day', {l}, {m})"
        return (f"CASE WHEN {l} IS NULL THEN '{MISSING} → value' WHEN {m} IS NULL THEN 'value → {MISSING}' "
                f"WHEN {days} = 0 THEN 'time of day changed' "
                f"ELSE 'moved ' || CASE WHEN {days} > 0 THEN '+' ELSE '' END || {days} || ' day(s)' END")
    return f"coalesce({_as_text(l, c.kind)}, '{MISSING}') || ' → ' || coalesce({_as_text(m, c.kind)}, '{MISSING}')"


def column_stats(engine: RecordEngine, comparisons: list[Comparison], matched: int,
                 table: str = "diffrows") -> list[ColumnStats]:
    """Per-column statistics of every comparison over ``matched`` records, in one scan of ``table`` (the
    matched records with any value not identical: the others add nothing to any statistic)."""
    if not comparisons:
        return []
    parts = ["count(*)"]
    for c in comparisons:
        l, m = c.legacy_sql, c.migrated_sql
        parts += [f"count(*) FILTER (WHERE {differs_sql(c)})",
                  f"count(*) FILTER (WHERE {l} IS NULL AND {m} IS NOT NULL)",
                  f"count(*) FILTER (WHERE {l} IS NOT NULL AND {m} IS NULL)"]
        if c.numeric:
            parts += [f"max(abs({m} - {l}))", f"sum(abs({m} - {l}))"]
        else:
            parts += ["CAST(NULL AS DOUBLE)", "CAST(NULL AS DOUBLE)"]
    row = engine.row(f"SELECT {', '.join(parts)} FROM {quote(table)}")
    n = matched
    out = []
    for i, c in enumerate(comparisons):
        differ, null_l, null_m, max_abs, total_abs = row[1 + 5 * i: 6 + 5 * i]
        out.append(ColumnStats(
            column=c.column, kind=c.kind, tolerance=c.tolerance, compared=n, differ=differ,
            match_rate=(n - differ) / n if n else 1.0, null_legacy_only=null_l, null_migrated_only=null_m,
            max_abs_difference=None if not c.numeric else float(max_abs or 0.0),
            total_abs_difference=None if not c.numeric else float(total_abs or 0.0)))
    return out


def differences_sql(comparisons: list[Comparison], table: str = "matched") -> str:
    """One row per differing field: key, customer, reason, column, both values as text, delta, value pattern."""
    selects = []
    for c in comparisons:
        l, m = c.legacy_sql, c.migrated_sql
        delta = f"CAST({m} - {l} AS DOUBLE)" if c.numeric else "CAST(NULL AS DOUBLE)"
        selects.append(
            f"SELECT __key, __customer, __reason, {c.index} AS column_index, {sql_literal(c.column)} AS column_name, "
            f"{_as_text(l, c.kind)} AS legacy_value, {_as_text(m, c.kind)} AS migrated_value, {delta} AS delta, "
            f"{pattern_sql(c)} AS value_pattern FROM {quote(table)} WHERE {differs_sql(c)}")
    if not selects:
        return ("SELECT NULL::VARCHAR AS __key, NULL::VARCHAR AS __customer, NULL::VARCHAR AS __reason, "
                "NULL::INTEGER AS column_index, NULL::VARCHAR AS column_name, NULL::VARCHAR AS legacy_value, "
                "NULL::VARCHAR AS migrated_value, NULL::DOUBLE AS delta, NULL::VARCHAR AS value_pattern WHERE false")
    return "\nUNION ALL\n".join(selects)


def _candidate_keys(engine: RecordEngine, comparisons: list[Comparison]) -> None:
    """The keys worth parsing and comparing (``candidates``: ``lk`` / ``mk`` the key on each side that has
    it), with the keys repeated or missing set aside (`data.pairs.set_aside`), from one full outer join.

    The join carries, per row, the key and one 64-bit hash of the compared raw values (DuckDB's ``hash``:
    a bijection of each number, date or time, a 64-bit hash of text, combined by a mix that is a
    bijection of each value's hash) and keeps, per class of row (both sides, legacy only, migrated
    only), only the keys whose hashes differ, with counts. A matched record whose raw values hash equal
    on both sides is taken as identical: the chance that a record that differs hashes equal is 2⁻⁶⁴
    (none when one number or date changed to another), the checksum comparison of data-diff tools
    (Datafold's ``data-diff``) applied per record. Every candidate is then compared value by value.

    The same join tells whether a key of both sides repeats: ``B`` joined rows of both sides equal
    ``Σ nl·nm`` over the common keys, which is ``Σ nl`` (the legacy rows not on one side only) and ``Σ nm``
    exactly when every common key occurs once on each side. Then the keys repeated on one side only
    are read from the one-sided rows and no GROUP BY of every key is needed; otherwise each side's keys
    are counted by `set_aside`.
    """
    def side(name: str, positions: list[int]) -> str:
        values = ", ".join(f"r{p}" for p in positions)
        return f"(SELECT __key, hash({values}) AS __h FROM rawkeyed_all_{name})"  # a hash is never NULL

    legacy = side("legacy", [c.legacy_position for c in comparisons])
    migrated = side("migrated", [c.migrated_position for c in comparisons])
    engine.materialize("key_classes", "SELECT l.__h IS NOT NULL AS in_l, m.__h IS NOT NULL AS in_m, "
                       "CASE WHEN l.__h IS DISTINCT FROM m.__h THEN coalesce(l.__key, m.__key) "
                       f"END AS __key, count(*) AS n FROM {legacy} l FULL OUTER JOIN {migrated} m ON l.__key = m.__key "
                       "GROUP BY ALL")
    rows_l, rows_m = (engine.row(f"SELECT count(*) FROM rawkeyed_all_{s}")[0] for s in ("legacy", "migrated"))
    both, only_l, only_m = engine.row(
        "SELECT coalesce(sum(n) FILTER (WHERE in_l AND in_m), 0), coalesce(sum(n) FILTER (WHERE in_l AND NOT in_m), 0), "
        "coalesce(sum(n) FILTER (WHERE in_m AND NOT in_l), 0) FROM key_classes")
    counted = both == rows_l - only_l == rows_m - only_m
    if counted:
        for name, own, other in (("legacy", "in_l", "in_m"), ("migrated", "in_m", "in_l")):
            engine.materialize(f"keycounts_{name}", "SELECT __key, CAST(sum(n) AS BIGINT) AS n FROM key_classes "
                               f"WHERE {own} AND NOT {other} GROUP BY __key HAVING sum(n) > 1 OR __key IS NULL")
    set_aside(engine, counted=counted)
    engine.materialize("candidates", "SELECT CASE WHEN k.in_l THEN k.__key END AS lk, CASE WHEN k.in_m THEN k.__key "
                       "END AS mk FROM key_classes k ANTI JOIN dupkeys d ON k.__key = d.__key WHERE k.__key IS NOT NULL")
    engine.drop("key_classes")


def build_findings(engine: RecordEngine, comparisons: list[Comparison], legacy: SideSQL, migrated: SideSQL,
                   legacy_columns: int, migrated_columns: int) -> bool:
    """Join the clean ``legacy`` and ``migrated`` sides on ``__key`` (a full outer join) into the tables
    ``lost``, ``unexpected`` and ``diffrows`` (the matched records with any compared value not identical,
    within tolerance or not: every statistic is computed from them); keys repeated on a side and rows
    without a key are set aside first (`data.pairs.set_aside`). `build_differences` then makes the long
    ``differences`` from ``diffrows``.

    On DuckDB, when every compared column has one raw type and one parsing on both sides, the keys and a
    hash of the raw values are joined first (`_candidate_keys`): only the keys whose raw values differ (or
    that are on one side) are parsed and compared, so parsing costs about as much as the differences, not
    the input. Otherwise, and always on Spark (whose ``hash`` is not DuckDB's, and whose sides DuckDB has
    parsed already, `data.pairs.hand_over`), every row's parsed values are compared in the join. Either
    way only the rows that differ are kept. Returns whether the hashes were joined (the summary says so).
    """
    sources = ("legacy", "migrated")
    hashed = engine.name == "duckdb" and bool(comparisons) and all(c.same_raw for c in comparisons)
    if hashed:
        _candidate_keys(engine, comparisons)
        for name, side, column in (("cand_legacy", legacy, "lk"), ("cand_migrated", migrated, "mk")):
            engine.materialize(name, f"SELECT {side.select} FROM {side.raw} SEMI JOIN (SELECT {column} AS __candidate "
                                     f"FROM candidates WHERE {column} IS NOT NULL) c ON ({side.key}) = c.__candidate")
        sources = ("cand_legacy", "cand_migrated")
    else:
        set_aside(engine)
    meta = ("__key", "__key_raw", "__customer", "__reason", "__amount")
    cols = [f"l.{c} AS l{c}" for c in meta] + [f"m.{c} AS m{c}" for c in meta]
    cols += [f"l.c{j} AS lc{j}" for j in range(legacy_columns)] + [f"m.c{j} AS mc{j}" for j in range(migrated_columns)]
    distinct = "".join(f" OR (l.c{c.legacy_position} IS DISTINCT FROM m.c{c.migrated_position})" for c in comparisons)
    engine.materialize("outer_rows", f"SELECT {', '.join(cols)} FROM {sources[0]} l FULL OUTER JOIN {sources[1]} m "
                                     f"ON l.__key = m.__key WHERE l.__key IS NULL OR m.__key IS NULL{distinct}")
    rows = kept_rows(engine)
    for table, side, other, n in (("lost", "l", "m", legacy_columns), ("unexpected", "m", "l", migrated_columns)):
        own = ", ".join(f"{side}{c} AS {c}" for c in meta) + "".join(f", {side}c{j} AS c{j}" for j in range(n))
        rows(table, f"SELECT {own} FROM outer_rows WHERE {other}__key IS NULL")
    pairs = "".join(f", lc{c.legacy_position} AS l{c.index}, mc{c.migrated_position} AS m{c.index}" for c in comparisons)
    rows("diffrows", "SELECT l__key AS __key, l__key_raw AS legacy_key, m__key_raw AS migrated_key, "
                       f"coalesce(l__customer, m__customer) AS __customer, coalesce(m__reason, l__reason) AS __reason{pairs} "
                       "FROM outer_rows WHERE l__key IS NOT NULL AND m__key IS NOT NULL")
    if engine.name == "duckdb":  # on Spark the views above read it (dropped with the run's other views)
        engine.drop("outer_rows")
    return hashed


def build_differences(con: duckdb.DuckDBPyConnection, comparisons: list[Comparison]) -> None:
    """The long table ``differences`` from ``diffrows``, on DuckDB on either engine: its values are written
    as text (`_as_text`), and DuckDB's text of a double (``1e+20``, shortest round trip) is not Spark's
    (``1.0E20``, Java's), so the exports' text is DuckDB's whichever engine joined."""
    con.execute(f"CREATE OR REPLACE TABLE differences AS {differences_sql(comparisons, 'diffrows')}")
