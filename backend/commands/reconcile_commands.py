"""`cxw reconcile`: legacy vs migrated records → findings, patterns, impacted customers, report.

Exit 0 when the two sides agree, 1 when they differ, 2 on bad input (as CI users of datacompy expect).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.commands.apps import Engine, app, generate_app
from backend.commands.progress import QUIET, stage_progress
from backend.llm import narrator_from_settings
from backend.reconciliation import ReconcileOptions, parse_key_rules, parse_tolerances, reconcile
from backend.settings import Settings

console = Console(stderr=True)


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for v in values or [] for part in v.split(",") if part.strip())


@app.command("reconcile")
def reconcile_command(
    legacy: Annotated[Path, typer.Option("--legacy", help="Legacy records (CSV or Parquet).")],
    migrated: Annotated[Path, typer.Option("--migrated", help="Migrated records (CSV or Parquet).")],
    key: Annotated[str, typer.Option("--key", help="Key column(s), comma-separated for a composite key.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced atomically).")],
    compare: Annotated[list[str], typer.Option("--compare", help="Only these columns (comma-separated, repeatable).")] = None,
    tolerance: Annotated[list[str], typer.Option("--tolerance", help="COLUMN=NUMBER: numeric tolerance (repeatable).")] = None,
    reason_column: Annotated[str, typer.Option("--reason-column", help="Column holding a reason code.")] = None,
    customer_column: Annotated[str, typer.Option("--customer-column", help="Column identifying the customer.")] = None,
    amount_column: Annotated[str, typer.Option("--amount-column", help="The amount column sized in the impact.")] = None,
    key_normalize: Annotated[str, typer.Option("--key-normalize", help="Key rules: trim,case,zeros or none.")] = "trim,case,zeros",
    previous: Annotated[Path, typer.Option("--previous", help="A previous run's output folder to compare with.")] = None,
    export_format: Annotated[str, typer.Option("--export-format", help="parquet or csv for the row exports.")] = "parquet",
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="DuckDB memory limit; it spills to disk beyond.")] = "4GB",
    engine: Annotated[Engine, typer.Option(
        "--engine", help="Where the joins and comparisons run: duckdb, or spark (the files are still read by DuckDB).")
    ] = Engine.duckdb,
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Compare legacy and migrated records: lost, unexpected, differing fields, patterns and their causes."""
    from data.errors import UserError

    if export_format not in ("parquet", "csv"):
        raise UserError(f"--export-format {export_format!r}: expected parquet or csv")
    keys = _split([key])
    if not keys:
        raise UserError("--key: give at least one key column")
    options = ReconcileOptions(
        legacy=legacy, migrated=migrated, key=keys, compare=_split(compare), tolerances=parse_tolerances(tolerance or []),
        reason_column=reason_column, customer_column=customer_column, amount_column=amount_column,
        key_rules=parse_key_rules(key_normalize), previous=previous, export_format=export_format,
        memory_limit=memory_limit, engine=engine.value)
    with stage_progress(console, quiet) as progress:
        summary = reconcile(options, out, progress=progress, narrate=narrator_from_settings(Settings()))
    c = summary.counts
    console.print(f"{summary.verdict}: {c.matched:,} matched, {c.with_differences:,} with differences, {c.lost:,} lost, "
                  f"{c.unexpected:,} unexpected, {len(summary.findings)} pattern(s), {c.impacted_customers:,} "
                  f"customers impacted ({summary.seconds:.1f} s) → {out / 'report.md'}")
    for f in summary.findings[:10]:
        console.print(f"  {f.pattern.classification:10s} {f.pattern.records:>9,}  {f.pattern.label}"
                      + (f"  [{f.cause.scope}]" if f.cause.scope else ""))
    if summary.verdict == "differ":
        raise typer.Exit(1)


@generate_app.command("billing-migration")
def generate_billing_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created; a previous output is replaced).")],
    accounts: Annotated[int, typer.Option("--accounts", help="Number of legacy accounts (at least 1000).")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
    share: Annotated[float, typer.Option("--share", min=0.0, max=0.1,
                                         help="Fraction of accounts in each injected error set.")] = 0.002,
    fmt: Annotated[str, typer.Option("--format", help="csv (legacy file messy) or parquet.")] = "csv",
    clean: Annotated[bool, typer.Option("--clean", help="Write the legacy CSV plainly (no junk lines, plain amounts).")] = False,
) -> None:
    """A legacy export and its migrated records with known errors (systematic and isolated) in truth.json."""
    from data.synthetic.billing import generate_billing

    truth = generate_billing(out, accounts, seed, messy=not clean, fmt=fmt, share=share)
    typer.echo(f"wrote {out / truth.legacy_file} and {out / truth.migrated_file}: {len(truth.product_systematic):,} "
               f"systematic product changes, {len(truth.status_isolated):,} isolated status changes, "
               f"{len(truth.lost):,} lost, {len(truth.unexpected):,} unexpected (truth: {out / 'truth.json'})")


reconciliations_app = typer.Typer(help="Reconciliation runs of the service: import a `cxw reconcile` output, list runs.",
                                  no_args_is_help=True)
app.add_typer(reconciliations_app, name="reconciliations")


@reconciliations_app.command("import")
def import_command(
    folder: Annotated[Path, typer.Argument(help="An output folder of `cxw reconcile` (with summary.json).")],
    name: Annotated[str, typer.Option("--name", help="The run's name in the UI (default: the folder's name).")] = None,
) -> None:
    """Record a finished reconciliation in the service's database (copied under CXW_DATA_DIR), so the UI shows it."""
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import reconciliations

    settings, sessions = open_database()
    with sessions.begin() as session:
        run = reconciliations.import_output(session, settings.data_dir, folder, cli_actor(), name=name)
        run_id, verdict = run.id, run.verdict
    typer.echo(f"imported {folder} as reconciliation {run_id} ({verdict})")


@reconciliations_app.command("list")
def list_command(limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20) -> None:
    """Reconciliation runs, newest first; a running run whose process is gone is marked failed."""
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import reconciliations

    _, sessions = open_database()
    with sessions.begin() as session:
        reconciliations.reap(session, cli_actor())
        rows, _ = reconciliations.list_runs(session, limit=limit)
        for r in rows:
            state = f"{r.status} ({r.step}, {r.progress:.0%})" if r.status == "running" else r.status
            print(f"{r.id}\t{r.started_at:%Y-%m-%d %H:%M:%S}\t{r.source}\t{state}\t{r.verdict or '-'}\t{r.name}"
                  + (f"\t{r.error}" if r.error else ""))
