"""`cxw analyze`: metrics → detect → root causes → recommendations for every incident (`backend.analysis`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backend.analysis import analyze_workspace, engine_note
from backend.commands.apps import Engine, app
from backend.commands.progress import QUIET, stage_progress
from backend.llm import narrator_from_settings
from backend.settings import Settings
from backend.whatif import WHATIF_FOLDER
from data.sources import open_workspace

console = Console(stderr=True)


@app.command("analyze")
def analyze_command(
    workspace: Annotated[Path, typer.Argument(help="Workspace YAML file (or its folder).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for incidents.json and report.md.")],
    cube: Annotated[Path, typer.Option("--cube", help="Reuse this cube.parquet (or the one in this folder) "
                                                      "instead of building one.")] = None,
    metric: Annotated[list[str], typer.Option("--metric", help="Only this metric (repeatable).")] = None,
    max_incidents: Annotated[int, typer.Option("--max-incidents", min=0,
                                               help="Explain at most this many.")] = 20,
    recommend: Annotated[int | None, typer.Option(
        "--recommend", min=0, help="Recommend for the N most severe incidents (default: every incident; 0: none).")] = None,
    quiet: Annotated[bool, QUIET] = False,
    engine: Annotated[Engine | None, typer.Option(
        "--engine", help="Where the record scans run (default: the workspace's engine, duckdb).")] = None,
) -> None:
    """Detect regressions, explain each with ranked causes and evidence, and write the report (and, in
    OUT/whatif, each incident's what-if model: `cxw job detect --incidents` takes them to the service)."""
    if cube is not None and cube.is_dir():
        cube = cube / "cube.parquet"
    ow = open_workspace(workspace, engine=engine.value if engine else None)
    note = engine_note(ow)
    if note:
        console.print(note)
    with stage_progress(console, quiet) as progress:
        result = analyze_workspace(ow, out, cube=cube, metrics=metric or None, max_incidents=max_incidents,
                                   recommend=recommend, progress=progress, narrate=narrator_from_settings(Settings()),
                                   keep_whatifs=out / WHATIF_FOLDER)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(f"[bold]{len(result.incidents)}[/bold] incident(s) from {result.regressions} regression(s) "
                  f"({stages}) → {out / 'incidents.json'}, {out / 'report.md'}")
    if not result.incidents:
        return
    table = Table(show_lines=False)
    for col in ("metric", "where", "change", "top cause", "confidence"):
        table.add_column(col)
    for inc in result.incidents[:15]:
        r = inc.regression
        where = ", ".join(s.key for s in inc.slices[:3])
        top = inc.causes[0] if inc.causes else None
        cause = "inconclusive" if inc.inconclusive or top is None else (
            f"{top.hypothesis}: {top.change_event or top.feature}")
        table.add_row(r.metric, where, f"{r.relative_change:+.1%}", cause, f"{top.confidence:.0%}" if top else "—")
    console.print(table)
