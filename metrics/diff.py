"""Comparison definitions compiled to diff SQL: which column pairs are compared, how, and what differs.

A reconciliation joins the legacy and migrated records on their key into one table (``matched``) where
comparison ``i`` reads the legacy value from column ``l{i}`` and the migrated value from ``m{i}``.
`column_stats` runs one aggregate query for every comparison at once; `differences_sql` is the long
table of every field that differs (one row per record × column), with the ``legacy → migrated`` value
pattern each difference belongs to. Numbers differ when ``|migrated − legacy|`` exceeds the column's
tolerance; dates and text when they are not the same value; a value missing on one side only differs.
"""

from __future__ import annotations

from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

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
    """The value pattern of a difference: ``legacy → migrated`` for text and dates; the direction for numbers."""
    l, m = c.legacy_sql, c.migrated_sql
    if c.numeric:
        return (f"CASE WHEN {l} IS NULL THEN '{MISSING} → value' WHEN {m} IS NULL THEN 'value → {MISSING}' "
                f"WHEN {m} > {l} THEN 'increased' ELSE 'decreased' END")
    return f"coalesce({_as_text(l, c.kind)}, '{MISSING}') || ' → ' || coalesce({_as_text(m, c.kind)}, '{MISSING}')"


def column_stats(con: duckdb.DuckDBPyConnection, comparisons: list[Comparison], table: str = "matched"
                 ) -> list[ColumnStats]:
    """Per-column statistics of every comparison, in one scan of ``table``."""
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
            parts += ["NULL", "NULL"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {quote(table)}").fetchone()
    n = row[0]
    out = []
    for i, c in enumerate(comparisons):
        differ, null_l, null_m, max_abs, total_abs = row[1 + 5 * i: 6 + 5 * i]
        out.append(ColumnStats(
            column=c.column, kind=c.kind, tolerance=c.tolerance, compared=n, differ=differ,
            match_rate=(n - differ) / n if n else 1.0, null_legacy_only=null_l, null_migrated_only=null_m,
            max_abs_difference=None if max_abs is None else float(max_abs),
            total_abs_difference=None if total_abs is None else float(total_abs)))
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


def build_findings(con: duckdb.DuckDBPyConnection, comparisons: list[Comparison]) -> None:
    """Join the clean ``legacy`` and ``migrated`` tables on ``__key`` into ``matched``, ``lost``,
    ``unexpected`` and the long ``differences`` table (see `differences_sql`)."""
    pairs = ", ".join(f"l.c{c.legacy_position} AS l{c.index}, m.c{c.migrated_position} AS m{c.index}"
                      for c in comparisons)
    con.execute(
        "CREATE OR REPLACE TABLE matched AS SELECT l.__key, l.__key_raw AS legacy_key, m.__key_raw AS migrated_key, "
        "coalesce(l.__customer, m.__customer) AS __customer, coalesce(m.__reason, l.__reason) AS __reason, "
        f"l.__amount AS legacy_amount, m.__amount AS migrated_amount{', ' + pairs if pairs else ''} "
        "FROM legacy l JOIN migrated m ON l.__key = m.__key")
    con.execute("CREATE OR REPLACE TABLE lost AS SELECT l.* FROM legacy l ANTI JOIN migrated m ON l.__key = m.__key")
    con.execute("CREATE OR REPLACE TABLE unexpected AS SELECT m.* FROM migrated m ANTI JOIN legacy l "
                "ON l.__key = m.__key")
    con.execute(f"CREATE OR REPLACE TABLE differences AS {differences_sql(comparisons)}")
