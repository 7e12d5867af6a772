"""The reconciliation investigation: one composition of the stages, called by the CLI and the API.

`reconcile(options, out)` reads both sides (`data.messy`), makes them comparable (`data.pairs`), joins
and diffs them (`metrics.diff`) on DuckDB or, with ``engine="spark"``, on Spark (the sides DuckDB read
and parsed handed over as Parquet, `data.pairs.hand_over`; the records that differ come back to DuckDB,
which words the differences, groups them and writes every export, so the output is the same), groups
the differences into patterns and localizes each (`detection.mismatch`), names a likely cause
(`rca.reconcile`), sizes the impact and writes the narrative (`recommendations.reconcile`). Every finding's rows are exported. The output folder is
written atomically: everything goes to a temporary sibling folder that is renamed over ``out`` at the
end, so a failed run leaves ``out`` as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from backend.progress import Progress, silent
from data.engines import DuckDBEngine, EngineName, RecordEngine, SparkEngine
from data.errors import UserError
from data.narrative import TEMPLATES, Narrator
from data.messy import Assumption, SideFile, canonical_name, header_columns, load_side
from data.pairs import KEY_RULES, KeyRule, PairSetup, find_column, hand_over, prepare_pair
from data.sources import quote, sql_literal
from detection.mismatch import classify_patterns, find_patterns, slice_dimensions
from metrics.diff import Comparison, build_differences, build_findings, column_stats
from rca.reconcile import likely_cause
from recommendations.reconcile import (
    AmountTotals,
    ChangeSet,
    CustomerChanges,
    ExportFile,
    Finding,
    PatternChange,
    ReconciliationSummary,
    RecordCounts,
    RunComparison,
    draw_reason_chart,
    impacted_customers_sql,
    reason_counts,
    remediation,
    render_markdown,
    render_pdf,
)

SUMMARY = "summary.json"
BY_PATTERN = "impacted_customers_by_pattern.csv"
# what the join leaves for the summary and the exports: brought back to DuckDB from Spark
JOINED = ("lost", "unexpected", "diffrows", "dup_legacy", "dup_migrated", "nokey_legacy", "nokey_migrated",
          "dupkeys_legacy", "dupkeys_migrated")


@dataclass(frozen=True)
class ReconcileOptions:
    """What to reconcile and how; column names are matched against the files' real columns."""

    legacy: Path
    migrated: Path
    key: tuple[str, ...]
    compare: tuple[str, ...] = ()
    tolerances: dict[str, float] = field(default_factory=dict)
    reason_column: str | None = None
    customer_column: str | None = None
    amount_column: str | None = None
    key_rules: tuple[KeyRule, ...] = KEY_RULES
    previous: Path | None = None
    export_format: Literal["parquet", "csv"] = "parquet"
    memory_limit: str = "4GB"
    threads: int | None = None
    engine: EngineName = "duckdb"  # where the joins, comparisons and population counts run


def parse_tolerances(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """``["amount=0.01", ...]`` → ``{"amount": 0.01}``; a clear error for anything else."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            tol = float(value)
        except ValueError:
            tol = -1.0
        if not sep or not name.strip() or not tol >= 0:
            raise UserError(f"--tolerance {item!r}: expected COLUMN=NUMBER with a number >= 0")
        out[name.strip()] = tol
    return out


def parse_key_rules(text: str) -> tuple[KeyRule, ...]:
    """``"trim,case"`` → the key normalisation rules; ``none`` for keys compared as written."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return ()
    bad = [p for p in parts if p not in KEY_RULES]
    if bad:
        raise UserError(f"--key-normalize: unknown rule(s) {', '.join(bad)} (known: {', '.join(KEY_RULES)}, none)")
    return tuple(r for r in KEY_RULES if r in parts)


def check_inputs(options: ReconcileOptions) -> None:
    """Fail fast, before a long run: both files readable with a header row, every column the options name
    present where the run needs it, ``previous`` an output folder. Reads only each file's first bytes (or
    Parquet footer); the messages are the ones the run itself would give."""
    sides = []
    for side, path in (("legacy", options.legacy), ("migrated", options.migrated)):
        fmt, columns = header_columns(path)
        sides.append(SideFile(side=side, path=str(path), format=fmt, rows=0, columns=columns))
    for s in sides:
        for name in options.key:
            find_column(s, name, "key")
        for name in (*options.compare, *options.tolerances):
            find_column(s, name, "compared")
        for name, role in ((options.customer_column, "customer"), (options.amount_column, "amount")):
            if name is not None:
                find_column(s, name, role)
    reason = options.reason_column
    if reason is not None and not any(canonical_name(c) == canonical_name(reason) for s in sides for c in s.columns):
        raise UserError(f"{options.legacy}: reason column {reason!r} not found on either side")
    if options.previous is not None:
        read_summary(options.previous, f"--previous {options.previous}")


def _connect(scratch: Path, options: ReconcileOptions) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # in memory; beyond the memory limit DuckDB spills to temp_directory
    con.execute(f"SET memory_limit = {sql_literal(options.memory_limit)}")
    con.execute(f"SET temp_directory = {sql_literal(str(scratch / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    if options.threads:
        con.execute(f"SET threads = {int(options.threads)}")
    return con


def _comparisons(setup: PairSetup, options: ReconcileOptions, legacy_path: Path) -> list[Comparison]:
    tolerances = {canonical_name(k): (k, v) for k, v in options.tolerances.items()}
    comps = []
    for i, p in enumerate(setup.pairs):
        name = canonical_name(p.legacy)
        tol = 0.0
        if name in tolerances:
            if p.kind not in ("amount", "number"):
                raise UserError(f"{legacy_path}: --tolerance {tolerances[name][0]}: column {p.legacy!r} is {p.kind}, "
                                f"not a number")
            tol = tolerances.pop(name)[1]
        comps.append(Comparison(index=i, column=p.legacy, migrated_column=p.migrated, legacy_position=p.legacy_index,
                                migrated_position=p.migrated_index, kind=p.kind, tolerance=tol, same_raw=p.same_raw))
    for original, _ in tolerances.values():
        raise UserError(f"{legacy_path}: --tolerance {original}: no compared column of that name "
                        f"(compared: {', '.join(c.column for c in comps)})")
    return comps


def _export(con, sql: str, folder: Path, name: str, fmt: str, holds: str) -> ExportFile:
    path = folder / f"{name}.{fmt}"
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    rows = con.execute(f"COPY ({sql}) TO {sql_literal(str(path))} ({options})").fetchone()[0]  # rows written
    return ExportFile(name=path.name, rows=rows, holds=holds)


def _side_rows_sql(table: str, columns: tuple[str, ...]) -> str:
    """A side's rows as exported, sorted (every column: rows of a repeated key differ in some other column
    or are alike), so the file is the same whichever engine joined and however many threads it used."""
    named = ", ".join(f"c{j} AS {quote(c)}" for j, c in enumerate(columns))
    return f"SELECT __key_raw AS _key, __customer AS _customer, __reason AS _reason, {named} FROM {table} ORDER BY ALL"


def _amount_totals(engine: RecordEngine, con, comps: list[Comparison]) -> list[AmountTotals]:
    amounts = [c for c in comps if c.kind == "amount"]
    if not amounts:
        return []

    def sums(scans: RecordEngine, table: str, side: str) -> tuple:  # every amount column's total in one scan
        return scans.row("SELECT " + ", ".join(f"coalesce(sum(c{getattr(c, side + '_position')}), 0)" for c in amounts)
                         + f" FROM {table}")

    here = DuckDBEngine(con)
    legacy, migrated = sums(engine, "legacy", "legacy"), sums(engine, "migrated", "migrated")
    missing, extra = sums(here, "lost", "legacy"), sums(here, "unexpected", "migrated")
    out = []
    for i, c in enumerate(amounts):
        net, absolute = con.execute(f"SELECT coalesce(sum(delta), 0), coalesce(sum(abs(delta)), 0) FROM differences "
                                    f"WHERE column_index = {c.index}").fetchone()
        out.append(AmountTotals(column=c.column, legacy_total=legacy[i], migrated_total=migrated[i], missing=missing[i],
                                unexpected=extra[i], changed_net=net, changed_abs=absolute))
    return out


def read_summary(folder: Path, label: str) -> ReconciliationSummary:
    """The summary of a reconciliation output folder; one clear line naming ``label`` when it is not one."""
    summary_file = Path(folder) / SUMMARY
    if not summary_file.is_file():
        raise UserError(f"{label}: {SUMMARY} not found (not a reconciliation output folder)")
    try:
        return ReconciliationSummary.model_validate_json(summary_file.read_text(encoding="utf-8"))
    except ValueError as err:
        raise UserError(f"{summary_file}: not a reconciliation summary ({str(err).splitlines()[0]})") from None


def _compare_previous(con, previous: Path, folder: Path) -> tuple[RunComparison, ExportFile]:
    """Patterns and customers resolved, new and persisting since the run in ``previous``."""
    by_pattern = previous / BY_PATTERN
    before = read_summary(previous, f"--previous {previous}")
    if not by_pattern.is_file():
        raise UserError(f"--previous {previous}: {BY_PATTERN} not found (not a reconciliation output folder)")
    con.execute(f"CREATE OR REPLACE TABLE previous_pc AS SELECT DISTINCT CAST(pattern AS VARCHAR) AS label, "
                f"CAST(customer AS VARCHAR) AS customer FROM read_csv({sql_literal(str(by_pattern))}, "
                f"header=true, all_varchar=true)")
    con.execute("CREATE OR REPLACE TABLE current_pc AS SELECT DISTINCT label, __customer AS customer FROM pattern_records")
    status = ("CASE WHEN p.label IS NULL THEN 'new' WHEN c.label IS NULL THEN 'resolved' ELSE 'persisting' END")
    con.execute(f"CREATE OR REPLACE TABLE changes AS SELECT coalesce(c.label, p.label) AS pattern, "
                f"coalesce(c.customer, p.customer) AS customer, {status} AS status FROM current_pc c "
                f"FULL OUTER JOIN previous_pc p ON c.label = p.label AND c.customer = p.customer")
    before_labels = {f.pattern.label for f in before.findings}
    now_labels = {r[0] for r in con.execute("SELECT DISTINCT label FROM pattern_records").fetchall()}
    patterns = ChangeSet(resolved=tuple(sorted(before_labels - now_labels)), new=tuple(sorted(now_labels - before_labels)),
                         persisting=tuple(sorted(before_labels & now_labels)))
    overall = con.execute(
        "WITH a AS (SELECT DISTINCT customer FROM previous_pc), b AS (SELECT DISTINCT customer FROM current_pc) "
        "SELECT (SELECT count(*) FROM a ANTI JOIN b USING (customer)), (SELECT count(*) FROM b ANTI JOIN a USING "
        "(customer)), (SELECT count(*) FROM a SEMI JOIN b USING (customer))").fetchone()
    rows = con.execute("SELECT pattern, count(*) FILTER (WHERE status = 'resolved'), count(*) FILTER (WHERE status = "
                       "'new'), count(*) FILTER (WHERE status = 'persisting') FROM changes GROUP BY 1 ORDER BY 1").fetchall()
    by_pattern_changes = []
    for label, resolved, new, persisting in rows:
        state = "new" if label in patterns.new else "resolved" if label in patterns.resolved else "persisting"
        by_pattern_changes.append(PatternChange(pattern=label, status=state, customers=CustomerChanges(
            resolved=resolved, new=new, persisting=persisting)))
    export = _export(con, "SELECT pattern, customer, status FROM changes ORDER BY pattern, customer", folder,
                     "changes_since_previous", "csv", "every (pattern, customer) resolved, new or persisting")
    return RunComparison(previous=str(previous), patterns=patterns, customers=CustomerChanges(
        resolved=overall[0], new=overall[1], persisting=overall[2]), by_pattern=tuple(by_pattern_changes)), export


def _run(options: ReconcileOptions, folder: Path, scratch: Path, progress: Progress, narrate: Narrator
         ) -> ReconciliationSummary:
    started = time.perf_counter()
    if options.previous is not None and not options.previous.is_dir():
        raise UserError(f"--previous {options.previous}: no such folder")
    con = _connect(scratch, options)
    engine: DuckDBEngine | SparkEngine | None = None
    try:
        progress("reading legacy", 0.0)
        legacy, notes = load_side(con, options.legacy, "legacy", "raw_legacy", scratch)
        progress("reading migrated", 0.1, legacy.rows)
        migrated, more = load_side(con, options.migrated, "migrated", "raw_migrated", scratch)
        notes += more
        progress("matching columns and keys", 0.2, legacy.rows + migrated.rows)
        setup, more = prepare_pair(con, legacy, migrated, list(options.key), options.key_rules, list(options.compare),
                                   options.customer_column, options.reason_column, options.amount_column)
        notes += more
        comps = _comparisons(setup, options, options.legacy)
        progress("joining and comparing", 0.35)
        engine = _engine(con, options)
        sides = ((setup.legacy_sql, setup.migrated_sql) if isinstance(engine, DuckDBEngine)
                 else hand_over(con, engine, setup, scratch))
        if build_findings(engine, comps, sides[0], sides[1], len(legacy.columns), len(migrated.columns)):
            notes.append(Assumption(file=Path(options.legacy).name, text=(
                "records whose compared values are stored alike on both sides were matched by a 64-bit hash of "
                "those values first: equal hashes taken as identical (a differing record hashes equal with "
                "chance 2^-64), every other record compared value by value")))
        if isinstance(engine, SparkEngine):
            _bring_back(engine, con)
        build_differences(con, comps)
        matched = engine.row("SELECT count(*) FROM legacy")[0] - con.execute("SELECT count(*) FROM lost").fetchone()[0]
        stats = column_stats(DuckDBEngine(con), comps, matched)
        amount_index = next((c.index for c in comps if c.column == setup.amount_column), None)
        progress("grouping patterns", 0.5)
        patterns = find_patterns(con, comps, amount_index)
        dims = slice_dimensions(engine, comps)
        progress("localizing patterns", 0.6)
        findings = []
        for p in classify_patterns(engine, con, patterns, dims, sides):
            cause = likely_cause(p)
            findings.append(Finding(pattern=p, cause=cause, remediation=remediation(p, cause)))
        progress("exporting", 0.8)
        summary = _summarise(engine, con, options, folder, legacy, migrated, setup, comps, matched, stats, findings,
                             notes)
        progress("writing the report", 0.9)
        summary = summary.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})
        (folder / SUMMARY).write_text(summary.model_dump_json(indent=2), encoding="utf-8")
        chart = folder / "mismatches_by_reason.png"
        draw_reason_chart(summary.reasons, chart)
        markdown = render_markdown(summary, narrate)
        (folder / "report.md").write_text(markdown, encoding="utf-8")
        render_pdf(markdown, chart, folder / "report.pdf")
        progress("done", 1.0)
        return summary
    finally:
        if engine is not None:
            engine.close()  # Spark's views: the session may outlive the run (the scratch files do not)
        con.close()


def _engine(con: duckdb.DuckDBPyConnection, options: ReconcileOptions) -> DuckDBEngine | SparkEngine:
    """The engine the joins run on: DuckDB's own connection, or Spark (the active session, else a local
    one), to which `data.pairs.hand_over` gives the clean sides as Parquet."""
    if options.engine == "duckdb":
        return DuckDBEngine(con)
    from data.spark import spark_session

    return SparkEngine(spark_session())


def _bring_back(engine: SparkEngine, con: duckdb.DuckDBPyConnection) -> None:
    """The rows the join left on Spark (the records that differ, are lost, unexpected or set aside: as
    many as the differences, not the input) copied into DuckDB through Arrow for the summary and exports."""
    for name in JOINED:
        rows = engine.table(f"SELECT * FROM {name}")
        con.register("__from_spark", rows)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __from_spark")
        con.unregister("__from_spark")


def _summarise(engine, con, options, folder, legacy, migrated, setup, comps, stats_matched, stats, findings, notes
               ) -> ReconciliationSummary:
    fmt = options.export_format
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    exports = [
        _export(con, _side_rows_sql("lost", legacy.columns), folder, "lost", fmt, "legacy records missing from migrated"),
        _export(con, _side_rows_sql("unexpected", migrated.columns), folder, "unexpected", fmt,
                "migrated records with no legacy record"),
        _export(con, "SELECT CAST(__key AS VARCHAR) AS _key, __customer AS _customer, __reason AS _reason, column_name AS column, "
                "legacy_value, migrated_value, delta, value_pattern FROM differences ORDER BY _key, column_index",
                folder, "differences", fmt, "every differing field of the matched records"),
        _export(con, "SELECT label AS pattern, CAST(__key AS VARCHAR) AS _key, __customer AS _customer, coalesce(__reason, label) AS "
                "reason_code, amount FROM pattern_records ORDER BY pattern, _key", folder, "pattern_records", fmt,
                "every record of every pattern with its reason code and amount"),
        _export(con, _side_rows_sql("dup_legacy", legacy.columns), folder, "duplicates_legacy", fmt,
                "legacy rows whose key repeats on either side (not compared)"),
        _export(con, _side_rows_sql("dup_migrated", migrated.columns), folder, "duplicates_migrated", fmt,
                "migrated rows whose key repeats on either side (not compared)"),
        _export(con, _side_rows_sql("nokey_legacy", legacy.columns), folder, "rows_without_key_legacy", fmt,
                "legacy rows with an empty key"),
        _export(con, _side_rows_sql("nokey_migrated", migrated.columns), folder, "rows_without_key_migrated", fmt,
                "migrated rows with an empty key"),
    ]
    overall, by_pattern = impacted_customers_sql()
    exports += [_export(con, overall, folder, "impacted_customers", "csv", "every impacted customer with amounts"),
                _export(con, by_pattern, folder, "impacted_customers_by_pattern", "csv",
                        "every impacted customer per pattern")]
    previous = None
    if options.previous is not None:
        previous, export = _compare_previous(con, options.previous, folder)
        exports.append(export)
    matched, with_diff = stats_matched, one("SELECT count(DISTINCT __key) FROM differences")
    counts = RecordCounts(
        legacy_rows=legacy.rows, migrated_rows=migrated.rows, matched=matched, identical=matched - with_diff,
        with_differences=with_diff, lost=one("SELECT count(*) FROM lost"), unexpected=one("SELECT count(*) FROM unexpected"),
        duplicate_keys_legacy=one("SELECT count(*) FROM dupkeys_legacy"),
        duplicate_keys_migrated=one("SELECT count(*) FROM dupkeys_migrated"),
        duplicate_rows_legacy=one("SELECT count(*) FROM dup_legacy"),
        duplicate_rows_migrated=one("SELECT count(*) FROM dup_migrated"),
        rows_without_key_legacy=one("SELECT count(*) FROM nokey_legacy"),
        rows_without_key_migrated=one("SELECT count(*) FROM nokey_migrated"),
        impacted_customers=one("SELECT count(DISTINCT __customer) FROM pattern_records"))
    differ = any((counts.lost, counts.unexpected, counts.with_differences, counts.duplicate_rows_legacy,
                  counts.duplicate_rows_migrated, counts.rows_without_key_legacy, counts.rows_without_key_migrated))
    if counts.matched == 0 and legacy.rows and migrated.rows:
        notes.append(Assumption(file=Path(options.migrated).name, column=", ".join(setup.key),
                                text="no key is on both sides: check --key and --key-normalize"))
    return ReconciliationSummary(
        verdict="differ" if differ else "agree", legacy=legacy, migrated=migrated, key=setup.key,
        key_rules=setup.key_rules, customer_column=setup.customer_column, reason_column=setup.reason_column,
        amount_column=setup.amount_column, compared_columns=tuple(c.column for c in comps),
        legacy_only_columns=setup.legacy_only, migrated_only_columns=setup.migrated_only,
        memory_limit=options.memory_limit, counts=counts, columns=tuple(stats),
        amounts=tuple(_amount_totals(engine, con, comps)),
        findings=tuple(findings), reasons=tuple(reason_counts(con)), assumptions=tuple(notes), exports=tuple(exports),
        previous=previous)


def reconcile(options: ReconcileOptions, out: Path, progress: Progress = silent, narrate: Narrator = TEMPLATES
              ) -> ReconciliationSummary:
    """Reconcile ``options.legacy`` against ``options.migrated`` into the folder ``out`` (replaced atomically);
    ``narrate`` words the report's narrative paragraphs (default: the templates' text; `data.narrative`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if options.previous is not None and options.previous.resolve() == out.resolve():
        raise UserError(f"--previous {options.previous}: must not be the output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    folder = out.parent / f".{out.name}.tmp-{tag}"
    folder.mkdir()
    try:
        with tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as scratch:
            summary = _run(options, folder, Path(scratch), progress, narrate)
        old = out.parent / f".{out.name}.old-{tag}"
        if out.exists():
            out.rename(old)
        folder.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return summary
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


__all__ = ["ReconcileOptions", "check_inputs", "parse_key_rules", "parse_tolerances", "read_summary", "reconcile"]
