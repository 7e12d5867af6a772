"""`cxw validate` and `cxw metrics`: check a workspace against its data; build its metric cube."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from backend.commands.apps import Engine, app
from data.sources import OpenWorkspace, open_workspace
from metrics.cube import build_cube, check_metrics_have_values

console = Console(stderr=True)


def check_later_stages(ow: OpenWorkspace) -> None:
    """What `cxw analyze` checks before its first result, by the stages' own validators: every metric has a
    value somewhere, the ``detection:``, ``rca:`` and ``recommendations:`` sections, the detection span."""
    from detection.config import detection_config
    from detection.scan import check_span
    from rca.engine import RcaOptions
    from rca.hypotheses import load_hypotheses
    from recommendations.settings import load_settings

    ws = ow.workspace
    check_metrics_have_values(ow)
    config = detection_config(ws)
    check_span(ow, config)
    RcaOptions.from_workspace(ws.rca, str(ws.source_file))
    load_hypotheses(ws.rca, source=str(ws.source_file))
    load_settings(ws)


ENGINE_HELP = "Where the record scans run (default: the workspace's engine, duckdb)."


@app.command("validate")
def validate(workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder)."),
             engine: Engine = typer.Option(None, "--engine", help=ENGINE_HELP)) -> None:
    """Validate a workspace file against its data and every stage's settings; exit 2 with one line naming
    the mistake. On engine spark the records are also validated on Spark, and the scans that still run on
    DuckDB are named."""
    from backend.analysis import engine_note

    ow = open_workspace(workspace, engine=engine.value if engine else None)
    check_later_stages(ow)
    ws = ow.workspace
    console.print(f"[green]ok[/green] {ws.name}: {len(ow.files)} file(s), {len(ws.metrics)} metrics, "
                  f"{len(ws.records.dimensions)} dimensions, {len(ow.changes)} change events")
    note = engine_note(ow)
    if note:
        console.print(note)


@app.command("metrics")
def metrics(
    workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder)."),
    out: Path = typer.Option(..., "--out", help="Folder for cube.parquet and cube.json."),
    depth: int = typer.Option(None, "--depth", help="Combine up to this many dimensions (default: cube.depth, 2)."),
    memory_limit: str = typer.Option(None, "--memory-limit", help="DuckDB memory limit, e.g. 3GB."),
    engine: Engine = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Compile every metric into one GROUPING SETS query and write the metric cube."""
    ow = open_workspace(workspace, engine=engine.value if engine else None)
    info = build_cube(ow, out, depth=depth, progress=sys.stderr.isatty(), memory_limit=memory_limit)
    console.print(f"[green]cube[/green] {out / 'cube.parquet'}: {info.rows:,} rows, {info.slices:,} slices × "
                  f"{info.buckets:,} {info.grain}s × {len(info.metrics)} metrics from {info.records:,} records "
                  f"in {info.seconds:.1f} s")
