"""`cxw detect`: scan a workspace's metric cube for regressions and write them, localized, as JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from backend.commands.apps import app
from data.sources import open_workspace
from detection.config import detection_config
from detection.scan import check_span, scan, write_regressions
from metrics.cube import build_cube

console = Console(stderr=True)


@app.command("detect")
def detect(
    workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder)."),
    out: Path = typer.Option(..., "--out", help="Folder for regressions.json (and cube.parquet if it is built)."),
    cube: Path = typer.Option(None, "--cube", help="Use this cube.parquet instead of OUT/cube.parquet."),
    fdr: float = typer.Option(None, "--fdr", help="Override detection.fdr for this run."),
) -> None:
    """Find the metric regressions of a workspace: detectors, false-discovery control, localization.

    Builds OUT/cube.parquet first when it is absent (as `cxw metrics` would), then writes
    OUT/regressions.json.
    """
    ow = open_workspace(workspace)
    config = detection_config(ow.workspace, fdr=fdr)
    cube_path = cube or out / "cube.parquet"
    if cube is None and not cube_path.exists():
        check_span(ow, config)
        info = build_cube(ow, out, progress=sys.stderr.isatty())
        console.print(f"[green]cube[/green] {cube_path}: {info.rows:,} rows in {info.seconds:.1f} s")
    result = scan(ow, cube_path, config)
    target = write_regressions(result, out)
    _summary(result, target)


def _summary(result, target: Path) -> None:
    regs = result.regressions
    seconds = sum(result.seconds.values())
    console.print(f"[bold]{len(regs)}[/bold] regression(s) among {result.tested:,} slice × metric series "
                  f"(FDR {result.config.fdr:g}; window {result.window.start:%Y-%m-%d %H:%M} → "
                  f"{result.window.end:%Y-%m-%d %H:%M}) in {seconds:.1f} s → {target}")
    if not regs:
        return
    table = Table(show_lines=False)
    for col in ("metric", "slice", "start", "change", "q", "top slices"):
        table.add_column(col)
    for r in regs[:20]:
        top = ", ".join(f"{s.key} ({s.share:.0%})" for s in r.slices[:3]) or "-"
        table.add_row(r.metric, r.slice.key, f"{r.start:%Y-%m-%d %H:%M}",
                      f"{r.baseline:.4g} → {r.current:.4g} ({r.relative_change:+.1%})", f"{r.q_value:.1e}", top)
    console.print(table)
