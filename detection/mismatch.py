"""Mismatch patterns of a reconciliation, and whether each is systematic or isolated.

`find_patterns` groups what the diff found (`metrics.diff`) into patterns: records lost, records
unexpected, and per column the ``legacy → migrated`` value pairs (text), the shift in days (dates) or
the direction of the change (numbers); a text column's value pairs seen once, or beyond its 20 most
frequent, form one pattern, ``column: other changes``.
Every affected record of every pattern is in the DuckDB table ``pattern_records``.

`classify_patterns` asks the project's localizer (`detection.localize.localize_ratio`) whether the share
of affected records is concentrated in a slice of the records' other columns: each leaf (a combination
of those columns' values) contributes its affected records as numerator and its records as denominator,
forecast at the pattern's overall rate. A pattern is *systematic* when the slices found hold at least
half of its records at a higher rate than the rest (or when it hits every record of its population),
*isolated* otherwise; the evidence is the share affected inside the slice against the rest.
"""

from __future__ import annotations

from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from data.engines import DuckDBEngine, RecordEngine
from data.pairs import SideSQL
from detection.localize import localize_ratio
from metrics.diff import MISSING, Comparison

PatternKind = Literal["lost", "unexpected", "value", "numeric", "date", "other"]
MIN_PAIR = 2  # a legacy → migrated value pair seen this often is a pattern of its own ...
MAX_PAIRS = 20  # ... when it is among its column's 20 most frequent pairs
MIN_RECORDS = 10  # fewer affected records are too few to localize
MAX_DIMS = 6
MAX_CARDINALITY = 50
PREFIX_ROWS = 20_000  # records read first to rule out columns with too many values
LOST, UNEXPECTED = "record lost", "record unexpected"


class SliceEvidence(BaseModel):
    """A slice where a pattern concentrates: share affected inside it vs in the rest of the population."""

    model_config = ConfigDict(frozen=True)

    slice: str
    affected: int
    population: int
    share: float
    rest_affected: int
    rest_population: int
    rest_share: float
    pattern_share: float  # fraction of the pattern's records inside the slice


class Pattern(BaseModel):
    """One mismatch pattern: what it is, how many records and customers it hits, and where it concentrates."""

    model_config = ConfigDict(frozen=True)

    label: str
    kind: PatternKind
    column: str | None = None
    legacy_value: str | None = None
    migrated_value: str | None = None
    records: int
    customers: int
    mismatches: int
    amount: float  # lost: amount missing; unexpected: amount added; amount column: net change; else 0
    population: int = 0
    classification: Literal["systematic", "isolated"] = "isolated"
    slices: tuple[SliceEvidence, ...] = ()
    dimensions: tuple[str, ...] = ()
    evidence: str = ""


def find_patterns(con: duckdb.DuckDBPyConnection, comparisons: list[Comparison], amount_index: int | None,
                  ) -> list[Pattern]:
    """Group lost, unexpected and differing records into patterns (largest first); fills ``pattern_records``."""
    grouped = {c.index: "numeric" if c.numeric else "date" for c in comparisons if c.kind != "text"}
    kind_sql = " ".join(f"WHEN column_index = {i} THEN '{k}'" for i, k in grouped.items())
    con.execute(
        "CREATE OR REPLACE TABLE field_patterns AS SELECT *, column_name || ': ' || "
        "CASE WHEN kind = 'other' THEN 'other changes' ELSE value_pattern END AS label FROM ("
        "SELECT column_index, column_name, value_pattern, any_value(legacy_value) AS legacy_value, "
        f"any_value(migrated_value) AS migrated_value, count(*) AS n, CASE {kind_sql} "
        f"WHEN count(*) >= {MIN_PAIR} AND row_number() OVER (PARTITION BY column_index ORDER BY count(*) DESC, "
        f"value_pattern) <= {MAX_PAIRS} THEN 'value' ELSE 'other' END AS kind "
        "FROM differences GROUP BY column_index, column_name, value_pattern)")
    amount_delta = f"CASE WHEN d.column_index = {amount_index} THEN d.delta ELSE 0 END" if amount_index is not None else "0"
    con.execute(
        f"CREATE OR REPLACE TABLE pattern_records AS "
        f"SELECT '{LOST}' AS label, __key, __customer, __reason, coalesce(__amount, 0) AS amount FROM lost "
        f"UNION ALL SELECT '{UNEXPECTED}', __key, __customer, __reason, coalesce(__amount, 0) FROM unexpected "
        f"UNION ALL SELECT f.label, d.__key, d.__customer, d.__reason, coalesce({amount_delta}, 0) FROM differences d "
        f"JOIN field_patterns f ON d.column_index = f.column_index AND d.value_pattern = f.value_pattern")
    rows = con.execute(
        "WITH p AS (SELECT label, count(DISTINCT __key) AS records, count(DISTINCT __customer) AS customers, "
        "count(*) AS mismatches, sum(amount) AS amount FROM pattern_records GROUP BY label), "
        "f AS (SELECT label, any_value(kind) AS kind, any_value(column_name) AS column_name, "
        "any_value(column_index) AS column_index, any_value(legacy_value) AS lv, any_value(migrated_value) AS mv, "
        "any_value(value_pattern) AS vp FROM field_patterns GROUP BY label) "
        "SELECT p.*, f.kind, f.column_name, f.lv, f.mv, f.vp FROM p LEFT JOIN f USING (label) "
        "ORDER BY p.records DESC, p.label").fetchall()
    out = []
    for label, records, customers, mismatches, amount, kind, column, lv, mv, _ in rows:
        if label in (LOST, UNEXPECTED):
            kind = "lost" if label == LOST else "unexpected"
        value_kind = kind == "value"
        out.append(Pattern(label=label, kind=kind, column=column, legacy_value=lv if value_kind else None,
                           migrated_value=mv if value_kind else None, records=records, customers=customers,
                           mismatches=mismatches, amount=float(amount or 0.0)))
    return out


def slice_dimensions(engine: RecordEngine, comparisons: list[Comparison]) -> list[Comparison]:
    """Text columns with 2..50 legacy values, fewest values first: the columns patterns are localized over.

    The values are counted exactly: an estimate (HyperLogLog) is not the same on DuckDB and Spark, and
    DuckDB's is often one off at a few dozen values, which could move a column across the bounds or
    reorder the columns."""
    text = [c for c in comparisons if c.kind == "text"]
    if not text:
        return []
    # A column with more than MAX_CARDINALITY values among any PREFIX_ROWS records has more in all: an exact
    # count over those rows rules out the high-cardinality columns (names, e-mails) without reading them all.
    # (which records come first does not matter: a column ruled out has more values in all, counted exactly)
    prefix = engine.row("SELECT " + ", ".join(f"count(DISTINCT c{c.legacy_position})" for c in text)
                        + f" FROM (SELECT * FROM legacy LIMIT {PREFIX_ROWS}) AS head")
    text = [c for c, n in zip(text, prefix) if n <= MAX_CARDINALITY]
    if not text:
        return []
    counts = engine.row("SELECT " + ", ".join(f"count(DISTINCT c{c.legacy_position})" for c in text) + " FROM legacy")
    usable = sorted((n, c.index, c) for n, c in zip(counts, text) if 2 <= n <= MAX_CARDINALITY)
    return [c for _, _, c in usable[:MAX_DIMS]]


def _dims_select(dims: list[str]) -> str:
    return ", ".join(f"coalesce(CAST({d} AS VARCHAR), '{MISSING}') AS d{i}" for i, d in enumerate(dims))


def _grouped(engine: RecordEngine, sql: str, dims: list[str], value: str) -> pd.DataFrame:
    """``value`` per leaf, sorted by leaf: a GROUP BY's row order is the engine's (and its threads'), and
    the localizer's ties are broken in row order."""
    select = _dims_select(dims)
    frame = engine.frame(f"SELECT {select + ', ' if select else ''}{value} FROM {sql}{' GROUP BY ALL' if select else ''}")
    return frame.sort_values([f"d{i}" for i in range(len(dims))], ignore_index=True) if dims else frame


def _population(engine: RecordEngine, side: str, values: tuple[str, ...], positions: list[int]) -> pd.DataFrame:
    """Records of ``side`` per leaf (``d{i}``, the parsed value of column ``positions[i]``; keys repeated or
    missing excluded): the raw values are grouped first and each distinct raw value parsed once, which
    gives the leaves of the parsed values at the cost of one GROUP BY of the raw ones."""
    if not positions:
        return _grouped(engine, side, [], "count(*) AS n")
    raw = ", ".join(f"r{p}" for p in dict.fromkeys(positions))
    grouped = f"(SELECT {raw}, count(*) AS __n FROM rawkeyed_{side} GROUP BY ALL) AS raw"
    return _grouped(engine, grouped, [values[p] for p in positions], "CAST(sum(__n) AS BIGINT) AS n")


def classify_patterns(engine: RecordEngine, con: duckdb.DuckDBPyConnection, patterns: list[Pattern],
                      dims: list[Comparison], sides: tuple[SideSQL, SideSQL]) -> list[Pattern]:
    """Every pattern with its classification, population, slices and evidence.

    The leaves (records per combination of the slice columns, and the pattern's records among them) come
    from a few GROUP BY queries for all patterns at once: the population of lost records is the legacy
    side, of unexpected records the migrated side, of a field pattern the matched records (only those
    with its legacy value when that value is one of a slice column's values). ``sides`` parse each
    side's raw values (`data.pairs.SideSQL.values`). The populations (every record of a side) are counted
    on ``engine``; the patterns' records (``lost``, ``unexpected``, ``pattern_records``, ``diffrows``) on
    ``con``, where `find_patterns` made them.
    """
    names = [d.column for d in dims]
    matched = [f"l{d.index}" for d in dims]
    legacy, migrated = [f"c{d.legacy_position}" for d in dims], [f"c{d.migrated_position}" for d in dims]
    keys = [f"d{i}" for i in range(len(dims))]
    base = {"lost": _population(engine, "legacy", sides[0].values, [d.legacy_position for d in dims]),
            "unexpected": _population(engine, "migrated", sides[1].values, [d.migrated_position for d in dims])}
    here = DuckDBEngine(con)
    hit = {"lost": _grouped(here, "lost", legacy, "count(*) AS k"),
           "unexpected": _grouped(here, "unexpected", migrated, "count(*) AS k")}
    # matched records = legacy records that are not lost (the slice columns read on the legacy side)
    field = _join(base["lost"], hit["lost"], keys)
    base["field"] = field.assign(n=field["n"] - field["k"]).drop(columns="k")
    select = _dims_select([f"t.{c}" for c in matched])
    field_hits = con.execute(
        f"SELECT p.label, {select + ', ' if select else ''}count(*) AS k FROM (SELECT DISTINCT label, __key FROM "
        f"pattern_records WHERE label NOT IN ('{LOST}', '{UNEXPECTED}')) p JOIN diffrows t ON t.__key = p.__key "
        "GROUP BY ALL").df()
    out = []
    for p in patterns:
        if p.kind in ("lost", "unexpected"):
            leaves = _join(base[p.kind], hit[p.kind], keys)
            out.append(_classify(p, leaves, keys, names))
            continue
        population, hits = base["field"], field_hits[field_hits["label"] == p.label].drop(columns="label")
        own = [k for k, n in zip(keys, names) if n == p.column]
        if own:
            if p.kind == "value":
                value = MISSING if p.legacy_value is None else p.legacy_value
                population = population[population[own[0]] == value]
                hits = hits[hits[own[0]] == value]
            rest = [k for k in keys if k != own[0]]
            population = population.groupby(rest, as_index=False)["n"].sum() if rest else population[["n"]].sum().to_frame().T
            hits = hits.groupby(rest, as_index=False)["k"].sum() if rest else hits[["k"]].sum().to_frame().T
            out.append(_classify(p, _join(population, hits, rest), rest,
                                 [n for k, n in zip(keys, names) if k != own[0]]))
        else:
            out.append(_classify(p, _join(population, hits, keys), keys, names))
    return out


def _join(population: pd.DataFrame, hits: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if not keys:
        return pd.DataFrame({"n": [int(population["n"].sum())], "k": [int(hits["k"].sum()) if len(hits) else 0]})
    leaves = population.merge(hits, on=keys, how="left")
    leaves["k"] = leaves["k"].fillna(0).astype(np.int64)
    return leaves.reset_index(drop=True)


def _tighten(leaves: pd.DataFrame, keys: list[str], filters: list[tuple[str, str]]
             ) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The slice narrowed, one more ``dim=value`` at a time, while a narrower slice still holds 99 % of its
    affected records: the localizer may name a parent (``tariff=T3``) when only one child is hit
    (``tariff=T3&region=north``); the child is the more useful answer and costs nothing in coverage."""
    mask = np.ones(len(leaves), dtype=bool)
    for dim, value in filters:
        mask &= (leaves[dim] == value).to_numpy()
    while True:
        inside = leaves.loc[mask]
        held, size = inside["k"].sum(), inside["n"].sum()
        best = None  # (records in the narrower slice, dim, value)
        for dim in keys:
            if held == 0 or any(dim == d for d, _ in filters):
                continue
            by_value = inside.groupby(dim)[["k", "n"]].sum()
            value = by_value["k"].idxmax()
            k, n = by_value.loc[value, "k"], by_value.loc[value, "n"]
            if k >= 0.99 * held and n < size and (best is None or n < best[0]):
                best = (n, dim, value)
        if best is None:
            return filters, mask
        filters = filters + [(best[1], best[2])]
        mask &= (leaves[best[1]] == best[2]).to_numpy()


def _classify(pattern: Pattern, leaves: pd.DataFrame, keys: list[str], dim_names: list[str]) -> Pattern:
    n_total, k_total = int(leaves["n"].sum()), int(leaves["k"].sum())
    base = dict(population=n_total, dimensions=tuple(dim_names))
    if k_total < MIN_RECORDS:
        return pattern.model_copy(update=dict(base, classification="isolated", evidence=(
            f"{k_total} record(s) of {n_total:,}: too few to be concentrated in a slice")))
    if k_total >= 0.99 * n_total:
        ev = SliceEvidence(slice="*", affected=k_total, population=n_total, share=k_total / n_total, rest_affected=0,
                           rest_population=0, rest_share=0.0, pattern_share=1.0)
        return pattern.model_copy(update=dict(base, classification="systematic", slices=(ev,), evidence=(
            f"every record it could hit: {k_total:,} of {n_total:,} ({k_total / n_total:.1%})")))
    found: list[SliceEvidence] = []
    covered = np.zeros(len(leaves), dtype=bool)
    if keys:
        rate = k_total / n_total
        num = leaves[keys].assign(real=leaves["k"].astype(float), predict=leaves["n"] * rate)
        den = leaves[keys].assign(real=leaves["n"].astype(float), predict=leaves["n"].astype(float))
        label_of = dict(zip(keys, dim_names))
        for s in localize_ratio(num, den, keys, max_depth=3, max_slices=5):
            filters, mask = _tighten(leaves, keys, list(s.filters))
            k_in, n_in = int(leaves.loc[mask, "k"].sum()), int(leaves.loc[mask, "n"].sum())
            k_out, n_out = k_total - k_in, n_total - n_in
            share_in, share_out = k_in / n_in, (k_out / n_out if n_out else 0.0)
            if share_in <= share_out:
                continue
            label = "&".join(f"{label_of[d]}={v}" for d, v in sorted(filters, key=lambda f: label_of[f[0]]))
            found.append(SliceEvidence(slice=label, affected=k_in, population=n_in, share=share_in,
                                       rest_affected=k_out, rest_population=n_out, rest_share=share_out,
                                       pattern_share=k_in / k_total))
            covered |= mask
    held = int(leaves.loc[covered, "k"].sum())
    if found and held >= 0.5 * k_total:
        top = found[0]
        return pattern.model_copy(update=dict(base, classification="systematic", slices=tuple(found), evidence=(
            f"{top.affected:,} of {top.population:,} records with {top.slice} ({top.share:.1%}) against "
            f"{top.rest_affected:,} of {top.rest_population:,} elsewhere ({top.rest_share:.1%}); "
            f"the slice(s) hold {held / k_total:.0%} of the pattern")))
    where_text = ", ".join(dim_names) if dim_names else "no other column"
    return pattern.model_copy(update=dict(base, classification="isolated", slices=tuple(found), evidence=(
        f"{k_total:,} of {n_total:,} records ({k_total / n_total:.2%}) spread over {where_text}: "
        f"no slice holds half of them at a higher rate than the rest")))
