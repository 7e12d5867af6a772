"""A legacy/migrated pair made comparable: columns matched across sides, keys normalised, values parsed.

`prepare_pair` takes the two raw relations `data.messy.load_side` made and defines, in DuckDB, one clean
view per side (``legacy``, ``migrated``; parsed where read, never copied) with

* ``__key``      the normalised key (parts joined by U+001F), ``__key_raw`` the key as written;
* ``__customer`` the customer column (the key when there is none), ``__reason`` the reason code column;
* ``__amount``   the primary amount column, parsed;
* ``c{j}``       every column of the side, parsed as what it holds (`data.messy.profile_column`).

Keys repeated on a side are moved to ``dup_legacy`` / ``dup_migrated`` with all their rows (never joined);
rows without a key to ``nokey_*`` (`set_aside`, called by `metrics.diff.build_findings` once it knows how
often each key occurs). On engine spark `hand_over` writes the clean sides to Parquet for Spark, which
joins and compares them. Column names given by the user are matched against the real columns
(ignoring case and punctuation) and only the matched real names reach SQL, quoted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

from data.engines import RecordEngine, SparkEngine
from data.errors import UserError
from data.messy import (Assumption, ColumnProfile, SideFile, canonical_name, cast_expression, profile_column,
                        sample_rows, unify_kinds)
from data.sources import quote, sql_literal

KeyRule = Literal["trim", "case", "zeros"]
KEY_RULES: tuple[KeyRule, ...] = ("trim", "case", "zeros")
KEY_SEPARATOR = "\x1f"
CUSTOMER_NAMES = ("customer", "customerid", "custid", "customerno", "customernumber", "clientid", "client")
REASON_NAMES = ("reasoncode", "reason", "migrationreason", "exceptioncode")


class ColumnPair(BaseModel):
    """A column present on both sides (matched by canonical name) and the kind it is compared as."""

    model_config = ConfigDict(frozen=True)

    legacy: str
    migrated: str
    legacy_index: int
    migrated_index: int
    kind: Literal["amount", "number", "date", "text"]
    same_raw: bool = False  # same raw type and same parsing on both sides: equal raw values are equal


class SideSQL(BaseModel):
    """How a side's clean rows are computed from its raw relation: the key and the full select list.

    Built only from the files' real column names, quoted; `metrics.diff.build_findings` uses them to parse
    only the rows whose raw values differ.
    """

    model_config = ConfigDict(frozen=True)

    raw: str
    key: str
    select: str
    values: tuple[str, ...]  # column j's parsed value computed from its raw value ``r{j}`` (`rawkeyed_*`)


class PairSetup(BaseModel):
    """What `prepare_pair` decided: key, roles, matched and unmatched columns, side profiles."""

    model_config = ConfigDict(frozen=True)

    key: tuple[str, ...]
    key_rules: tuple[KeyRule, ...]
    customer_column: str | None
    reason_column: str | None
    amount_column: str | None
    pairs: tuple[ColumnPair, ...]
    legacy_only: tuple[str, ...]
    migrated_only: tuple[str, ...]
    legacy_profiles: tuple[ColumnProfile, ...]
    migrated_profiles: tuple[ColumnProfile, ...]
    legacy_sql: SideSQL
    migrated_sql: SideSQL


def find_column(side: SideFile, wanted: str, role: str) -> int:
    """Index of the column of ``side`` matching ``wanted`` by canonical name; a clear error otherwise."""
    target = canonical_name(wanted)
    hits = [i for i, c in enumerate(side.columns) if canonical_name(c) == target]
    if not hits:
        shown = ", ".join(side.columns[:20])
        raise UserError(f"{side.path}: {role} column {wanted!r} not found (columns: {shown})")
    if len(hits) > 1:
        raise UserError(f"{side.path}: {role} column {wanted!r} matches several columns "
                        f"({', '.join(side.columns[i] for i in hits)})")
    return hits[0]


def _optional_column(side: SideFile, wanted: str | None, names: tuple[str, ...], role: str) -> int | None:
    if wanted is not None:
        return find_column(side, wanted, role)
    for i, c in enumerate(side.columns):
        if canonical_name(c) in names:
            return i
    return None


def key_sql(expr: str, rules: tuple[KeyRule, ...]) -> str:
    """SQL normalising one key part: trimmed, upper-cased, leading zeros of digits dropped (as configured)."""
    out = f"CAST({expr} AS VARCHAR)"
    if "trim" in rules:
        out = f"trim({out})"
    if "case" in rules:
        out = f"upper({out})"
    if "zeros" in rules:  # the prefix test first: a regular expression on every key is slow
        out = f"(CASE WHEN starts_with({out}, '0') THEN regexp_replace({out}, '^0+([0-9])', '\\1') ELSE {out} END)"
    return f"NULLIF({out}, '')"


def _key_kind(con: duckdb.DuckDBPyConnection, table: str, cols: list[str], dtypes: list[str]) -> tuple[str, ...]:
    """Per key part: ``integer``, ``number``, ``date`` or ``text`` (from the type, else the content)."""
    kinds = []
    for col, dtype in zip(cols, dtypes):
        t = dtype.upper()
        if t.startswith("TIMESTAMP") or t == "DATE":
            kinds.append("date")
            continue
        if t != "VARCHAR":
            kinds.append("integer" if "INT" in t else "number")
            continue
        q = quote(col)
        n, ints, nums, dates = con.execute(
            f"SELECT count({q}), count(*) FILTER (WHERE regexp_full_match(trim({q}), '-?[0-9]+')), "
            f"count(*) FILTER (WHERE TRY_CAST(trim({q}) AS DOUBLE) IS NOT NULL), "
            f"count(*) FILTER (WHERE TRY_CAST(trim({q}) AS TIMESTAMP) IS NOT NULL) FROM {quote(table)}").fetchone()
        kinds.append("integer" if n and ints == n else "number" if n and nums == n else
                     "date" if n and dates == n else "text")
    return tuple(kinds)


def prepare_pair(con: duckdb.DuckDBPyConnection, legacy: SideFile, migrated: SideFile, key: list[str],
                 key_rules: tuple[KeyRule, ...] = KEY_RULES, compare: list[str] | None = None,
                 customer: str | None = None, reason: str | None = None, amount: str | None = None,
                 ) -> tuple[PairSetup, list[Assumption]]:
    """Profile, match and normalise both sides into the clean tables ``legacy`` and ``migrated``."""
    notes: list[Assumption] = []
    sides = (legacy, migrated)
    dtypes = [dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {quote(t)})").fetchall())
              for t in ("raw_legacy", "raw_migrated")]
    key_idx = [[find_column(s, k, "key") for k in key] for s in sides]
    key_kinds = [_key_kind(con, f"raw_{s.side}", [s.columns[i] for i in idx], [d[s.columns[i]] for i in idx])
                 for s, idx, d in zip(sides, key_idx, dtypes)]
    for n, (part, lk, mk) in enumerate(zip(key, *key_kinds)):
        if lk == mk or {lk, mk} == {"integer", "number"}:
            continue
        lcol, mcol = (quote(s.columns[idx[n]]) for s, idx in zip(sides, key_idx))
        common = con.execute(f"SELECT count(k) FROM (SELECT {key_sql(lcol, key_rules)} AS k FROM raw_legacy "
                             f"INTERSECT SELECT {key_sql(mcol, key_rules)} FROM raw_migrated)").fetchone()[0]
        if common == 0:
            raise UserError(f"{migrated.path}: key column {part!r} holds {mk} values but {lk} values in "
                            f"{legacy.path}, and no key is on both sides: the key types do not match")
    cust_idx = [_optional_column(s, customer, CUSTOMER_NAMES, "customer") for s in sides]
    reason_idx = [_optional_column(s, reason, REASON_NAMES, "reason") for s in sides]
    if reason is not None and all(i is None for i in reason_idx):
        raise UserError(f"{legacy.path}: reason column {reason!r} not found on either side")
    # Columns matched across sides by canonical name; keys and reason codes are not compared.
    skip = [set(key_idx[k]) | ({reason_idx[k]} if reason_idx[k] is not None else set()) for k in (0, 1)]
    by_name = {canonical_name(c): j for j, c in enumerate(migrated.columns) if j not in skip[1]}
    profiles = [[], []]
    for k, side in enumerate(sides):
        text = [c for c in side.columns if dtypes[k][c].upper() == "VARCHAR"]
        sample_rows(con, f"raw_{side.side}", f"sample_{side.side}", text)  # one scan for every column's sample
        for j, c in enumerate(side.columns):
            prof, found = profile_column(con, f"raw_{side.side}", c, dtypes[k][c], side.path.rsplit("/", 1)[-1],
                                         f"sample_{side.side}")
            profiles[k].append(prof)
            notes += found
    pairs: list[ColumnPair] = []
    for i, c in enumerate(legacy.columns):
        j = by_name.get(canonical_name(c))
        if i in skip[0] or j is None:
            continue
        kind, found = unify_kinds(profiles[0][i], profiles[1][j], legacy.path.rsplit("/", 1)[-1])
        notes += found
        if c != migrated.columns[j]:
            notes.append(Assumption(file=migrated.path.rsplit("/", 1)[-1], column=migrated.columns[j],
                                    text=f"matched to legacy column {c!r} (names equal ignoring case and punctuation)"))
        same_raw = (dtypes[0][c].upper() == dtypes[1][migrated.columns[j]].upper() and kind == profiles[0][i].kind
                    == profiles[1][j].kind and profiles[0][i].model_copy(update={"name": ""})
                    == profiles[1][j].model_copy(update={"name": ""}))
        pairs.append(ColumnPair(legacy=c, migrated=migrated.columns[j], legacy_index=i, migrated_index=j, kind=kind,
                                same_raw=same_raw))
    paired_l = {p.legacy_index for p in pairs}
    paired_m = {p.migrated_index for p in pairs}
    legacy_only = tuple(c for i, c in enumerate(legacy.columns) if i not in paired_l and i not in skip[0])
    migrated_only = tuple(c for j, c in enumerate(migrated.columns) if j not in paired_m and j not in skip[1])
    if compare:
        wanted = {canonical_name(c) for c in compare}
        for c in compare:
            find_column(legacy, c, "compared")
            find_column(migrated, c, "compared")
        pairs = [p for p in pairs if canonical_name(p.legacy) in wanted]
    amount_pair = None
    if amount is not None:
        amount_pair = next((p for p in pairs if canonical_name(p.legacy) == canonical_name(amount)), None)
        if amount_pair is None or amount_pair.kind not in ("amount", "number"):
            raise UserError(f"{legacy.path}: amount column {amount!r} is not a compared numeric column")
    else:
        amount_pair = next((p for p in pairs if p.kind == "amount"), None)
    kinds = [{p.legacy_index: p.kind for p in pairs}, {p.migrated_index: p.kind for p in pairs}]
    # keys typed as integers on both sides join as integers (no text rule can change an integer)
    integer_key = all(len(key_idx[0]) == 1 and "INT" in dtypes[k][s.columns[key_idx[k][0]]].upper()
                      for k, s in enumerate(sides))
    side_sql: list[SideSQL] = []
    for k, side in enumerate(sides):
        amount_idx = None if amount_pair is None else (amount_pair.legacy_index, amount_pair.migrated_index)[k]
        side_sql.append(_clean_view(con, side, dtypes[k], profiles[k], kinds[k], key_idx[k], key_rules, cust_idx[k],
                                    reason_idx[k], amount_idx, integer_key))
    setup = PairSetup(
        key=tuple(legacy.columns[i] for i in key_idx[0]), key_rules=key_rules,
        customer_column=next((sides[k].columns[i] for k, i in enumerate(cust_idx) if i is not None), None),
        reason_column=next((sides[k].columns[i] for k, i in enumerate(reason_idx) if i is not None), None),
        amount_column=None if amount_pair is None else amount_pair.legacy, pairs=tuple(pairs),
        legacy_only=legacy_only, migrated_only=migrated_only,
        legacy_profiles=tuple(profiles[0]), migrated_profiles=tuple(profiles[1]), legacy_sql=side_sql[0],
        migrated_sql=side_sql[1])
    rules = ", ".join({"trim": "whitespace trimmed", "case": "case ignored",
                       "zeros": "leading zeros dropped"}[r] for r in key_rules) or "compared as written"
    notes.append(Assumption(file=legacy.path.rsplit("/", 1)[-1], column=", ".join(setup.key), text=f"key: {rules}"))
    if setup.customer_column is None:
        notes.append(Assumption(file=legacy.path.rsplit("/", 1)[-1], text="no customer column: each key is a customer"))
    notes.append(Assumption(file=legacy.path.rsplit("/", 1)[-1],
                            text="text compared after trimming whitespace, case-sensitive"))
    return setup, notes


def _clean_view(con, side: SideFile, dtypes: dict[str, str], profiles: list[ColumnProfile], kinds: dict[int, str],
                key_idx: list[int], rules, cust_idx: int | None, reason_idx: int | None, amount_idx: int | None,
                integer_key: bool) -> SideSQL:
    """Define the view ``all_{side}`` (every row, parsed where read) and the view ``rawkeyed_{side}`` (the
    normalised key beside the raw values ``r{j}``); return the SQL that parses rows of the raw relation."""
    raw = quote(f"raw_{side.side}")
    cols = side.columns
    keys = [key_sql(quote(cols[i]), rules) if not integer_key else f"CAST({quote(cols[i])} AS BIGINT)"
            for i in key_idx]
    key = keys[0] if len(keys) == 1 else f"concat_ws('{KEY_SEPARATOR}', {', '.join(keys)})"
    if len(keys) > 1:
        key = f"CASE WHEN {' OR '.join(f'{k} IS NULL' for k in keys)} THEN NULL ELSE {key} END"
    key_raw = " || ' | ' || ".join(f"coalesce(CAST({quote(cols[i])} AS VARCHAR), '')" for i in key_idx)
    parsed, values = [], []
    for j, (c, prof) in enumerate(zip(cols, profiles)):
        kind = kinds.get(j, prof.kind)
        numeric = {kind, prof.kind} <= {"amount", "number"}
        effective = prof if kind == prof.kind or numeric else ColumnProfile(name=c, kind="text")
        parsed.append(cast_expression(c, effective, dtypes[c]))
        values.append(cast_expression(f"r{j}", effective, dtypes[c]))
    customer = (f"NULLIF(trim(CAST({quote(cols[cust_idx])} AS VARCHAR)), '')" if cust_idx is not None
                else "CAST(NULL AS VARCHAR)")
    reason = f"NULLIF(trim(CAST({quote(cols[reason_idx])} AS VARCHAR)), '')" if reason_idx is not None else "NULL"
    amount = parsed[amount_idx] if amount_idx is not None else "CAST(NULL AS DOUBLE)"
    body = ", ".join(f"{p} AS c{j}" for j, p in enumerate(parsed))
    select = (f"{key} AS __key, {key_raw} AS __key_raw, coalesce({customer}, CAST({key} AS VARCHAR)) AS __customer, "
              f"CAST({reason} AS VARCHAR) AS __reason, CAST({amount} AS DOUBLE) AS __amount, {body}")
    # Views: values are parsed where they are read, never copied into another table.
    con.execute(f"CREATE OR REPLACE VIEW {quote('all_' + side.side)} AS SELECT {select} FROM {raw}")
    raw_cols = ", ".join(f"{quote(c)} AS r{j}" for j, c in enumerate(cols))
    con.execute(f"CREATE OR REPLACE VIEW {quote('rawkeyed_all_' + side.side)} AS SELECT {key} AS __key, {raw_cols} "
                f"FROM {raw}")
    return SideSQL(raw=raw, key=key, select=select, values=tuple(values))


def kept_rows(engine: RecordEngine) -> Callable[[str, str], None]:
    """How a table of rows the reconciliation keeps for its summary and exports is made: a table on DuckDB,
    where the summary and the exports read it several times; a view on Spark, read once, when DuckDB takes
    the rows back (`backend.reconciliation`)."""
    return engine.materialize if engine.name == "duckdb" else engine.define


def set_aside(engine: RecordEngine, counted: bool = False) -> None:
    """Rows without a key and rows of keys repeated on a side leave the comparison (kept for the report).

    The tables ``keycounts_legacy`` / ``keycounts_migrated`` hold each side's keys seen more than once and
    the missing key, with their row counts: one GROUP BY of the key per side makes them, unless ``counted``
    (the caller has made them already, `metrics.diff.build_findings` from its join). The rows themselves
    are fetched only when there are any. The views ``legacy``/``migrated`` (parsed) and
    ``rawkeyed_legacy``/``rawkeyed_migrated`` (raw) hold the rest. Runs on ``engine`` (DuckDB, or Spark
    over the sides `hand_over` gave it).
    """
    rows = kept_rows(engine)
    empty = {}
    for side in ("legacy", "migrated"):
        if not counted:
            engine.materialize(f"keycounts_{side}", f"SELECT __key, count(*) AS n FROM rawkeyed_all_{side} "
                                                    "GROUP BY __key HAVING count(*) > 1 OR __key IS NULL")
        engine.define(f"dupkeys_{side}", f"SELECT * FROM keycounts_{side} WHERE __key IS NOT NULL")
        empty[side] = engine.row(f"SELECT count(*) = 0 FROM keycounts_{side} WHERE __key IS NULL")[0]
        rows(f"nokey_{side}", f"SELECT * FROM all_{side} WHERE __key IS NULL"
                           + (" LIMIT 0" if empty[side] else ""))
    engine.materialize("dupkeys", "SELECT __key FROM dupkeys_legacy UNION SELECT __key FROM dupkeys_migrated")
    no_dups = engine.row("SELECT count(*) = 0 FROM dupkeys")[0]
    for side in ("legacy", "migrated"):
        rows(f"dup_{side}", f"SELECT a.* FROM all_{side} a SEMI JOIN dupkeys d ON a.__key = d.__key"
                           + (" LIMIT 0" if no_dups else ""))
        for view in (side, f"rawkeyed_{side}"):
            source = f"all_{side}" if view == side else f"rawkeyed_all_{side}"
            if no_dups and empty[side]:  # the usual case
                engine.define(view, f"SELECT * FROM {source}")
            else:
                engine.define(view, f"SELECT a.* FROM {source} a ANTI JOIN dupkeys d ON a.__key = d.__key "
                                    "WHERE a.__key IS NOT NULL")


def hand_over(con: duckdb.DuckDBPyConnection, engine: SparkEngine, setup: PairSetup, folder: Path
              ) -> tuple[SideSQL, SideSQL]:
    """Give Spark the clean sides DuckDB parsed: each side's ``all_{side}`` written to Parquet in ``folder``
    (the run's scratch folder) and read by Spark under the same name, and ``rawkeyed_all_{side}`` defined
    over it with the parsed values as ``r{j}``. Spark cannot read the messy files as DuckDB does (sniffed
    delimiters, encodings, junk lines; `data.messy`), so reading and parsing stay on DuckDB.

    Returns each side's SQL for the engine: a value ``r{j}`` is already parsed there (`SideSQL.values`).
    """
    out = []
    for side, sql in (("legacy", setup.legacy_sql), ("migrated", setup.migrated_sql)):
        path = folder / f"{side}.parquet"
        con.execute(f"COPY (SELECT * FROM {quote('all_' + side)}) TO {sql_literal(str(path))} (FORMAT parquet)")
        engine.session.read.parquet(str(path)).createOrReplaceTempView(engine.view(f"all_{side}"))
        values = tuple(f"r{j}" for j in range(len(sql.values)))
        engine.define(f"rawkeyed_all_{side}",
                      f"SELECT __key, {', '.join(f'c{j} AS {v}' for j, v in enumerate(values))} FROM all_{side}")
        out.append(sql.model_copy(update={"values": values}))
    return out[0], out[1]
