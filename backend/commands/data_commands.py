"""`cxw validate` and `cxw metrics`: check a workspace against its data; build its metric cube."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from backend.commands.apps import app
from data.sources import open_workspace
from metrics.cube import build_cube

console = Console(stderr=True)


@app.command("validate")
def validate(workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder).")) -> None:
    """Validate a workspace file against its data; exit 2 with one line naming the mistake."""
    ow = open_workspace(workspace)
    ws = ow.workspace
    console.print(f"[green]ok[/green] {ws.name}: {len(ow.files)} file(s), {len(ws.metrics)} metrics, "
                  f"{len(ws.records.dimensions)} dimensions, {len(ow.changes)} change events")


@app.command("metrics")
def metrics(
    workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder)."),
    out: Path = typer.Option(..., "--out", help="Folder for cube.parquet and cube.json."),
    depth: int = typer.Option(None, "--depth", help="Combine up to this many dimensions (default: cube.depth, 2)."),
    memory_limit: str = typer.Option(None, "--memory-limit", help="DuckDB memory limit, e.g. 3GB."),
) -> None:
    """Compile every metric into one GROUPING SETS query and write the metric cube."""
    ow = open_workspace(workspace)
    info = build_cube(ow, out, depth=depth, progress=sys.stderr.isatty(), memory_limit=memory_limit)
    console.print(f"[green]cube[/green] {out / 'cube.parquet'}: {info.rows:,} rows, {info.slices:,} slices × "
                  f"{info.buckets:,} {info.grain}s × {len(info.metrics)} metrics from {info.records:,} records "
                  f"in {info.seconds:.1f} s")
