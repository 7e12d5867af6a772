"""`cxw whatif` and `cxw plan`: simulate driver changes; render an incident's experiment plan."""

from __future__ import annotations

import sys
from pathlib import Path

from typing import Annotated, get_args

import typer
from rich.console import Console

from backend.commands.apps import app
from backend.commands.progress import QUIET, stage_progress
from data.atomic import write_atomically
from data.errors import UserError
from data.sources import open_workspace


@app.command("whatif")
def whatif_command(
    workspace: Path = typer.Argument(..., help="Workspace YAML file (or its folder)."),
    set_: list[str] = typer.Option([], "--set", help="FEATURE=VALUE: set a driver (number or category)."),
    scale: list[str] = typer.Option([], "--scale", help="FEATURE=FACTOR: multiply a driver (1.1 or +10%)."),
    shift: list[str] = typer.Option([], "--shift", help="FEATURE=AMOUNT: add to a driver."),
    scope: str = typer.Option("*", "--scope", help="Slices, e.g. 'region=west' or 'region=west;region=east'."),
    window_days: float = typer.Option(7.0, "--window-days", help="Predict over the last N days of records."),
    model: str = typer.Option(None, "--model", help="Outcome model: lightgbm (default) or glm."),
    bootstrap: int = typer.Option(None, "--bootstrap", help="Bootstrap refits for the intervals (default 20)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    kept: Path = typer.Option(None, "--kept", help="The what-if models an analysis kept (OUT/whatif of "
                                                  "cxw analyze): a kept model of this scope and data answers "
                                                  "without a fit."),
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Predict the change of every metric when drivers change in a scope (with 95% intervals)."""
    from pydantic import TypeAdapter

    from backend.whatif import WhatIfStore, whatif_workspace
    from recommendations import WhatIfResult, parse_change, render_whatif
    from recommendations.settings import ModelKind

    if model is not None and model not in get_args(ModelKind):
        raise UserError(f"--model {model!r}: use {' or '.join(get_args(ModelKind))}")
    changes = ([parse_change(t, "set") for t in set_] + [parse_change(t, "scale") for t in scale]
               + [parse_change(t, "shift") for t in shift])
    with stage_progress(Console(stderr=True), quiet) as progress:
        result = whatif_workspace(workspace, changes, scope, window_days=window_days, model=model, bootstrap=bootstrap,
                                  store=WhatIfStore(kept) if kept is not None else None, progress=progress)
    if as_json:
        sys.stdout.write(TypeAdapter(WhatIfResult).dump_json(result, indent=2).decode() + "\n")
    else:
        sys.stdout.write(render_whatif(result) + "\n")


@app.command("plan")
def plan_command(
    incidents: Path = typer.Argument(..., help="incidents.json, or the folder `cxw analyze` wrote it to."),
    incident: str = typer.Option(..., "--incident", help="The incident's id."),
    out: Path = typer.Option(..., "--out", help="File to write (.md or .pdf)."),
    fmt: str = typer.Option(None, "--format", help="md or pdf (default: from --out's suffix)."),
    workspace: Path = typer.Option(None, "--workspace",
                                   help="Recompute the plan against this workspace when the file has none."),
) -> None:
    """Write the experiment plan of one incident as Markdown or PDF."""
    from recommendations import recommend, render_plan_markdown, render_plan_pdf
    from recommendations.incidents_io import find_entry, incident_from_entry, plan_of, read_incidents

    fmt = (fmt or out.suffix.lstrip(".") or "md").lower()
    if fmt not in ("md", "pdf"):
        raise UserError(f"--format {fmt!r}: use md or pdf")
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out}: is a directory")
    doc, entries = read_incidents(incidents)
    entry = find_entry(doc, entries, incident)
    plan = plan_of(entry)
    if plan is None:
        ws_path = workspace or doc.get("workspace")
        if not ws_path:
            raise UserError(f"incident {incident!r} has no experiment_plan in {doc['_path']}; pass --workspace "
                            "to compute it")
        ws_path = Path(ws_path)
        if not ws_path.is_absolute() and workspace is None:
            ws_path = Path(doc["_path"]).parent / ws_path
        recset = recommend(open_workspace(ws_path), incident_from_entry(entry), incident_id=incident)
        plan = recset.experiment_plan
        if plan is None:
            raise UserError(f"incident {incident!r}: no action could be estimated, so there is no plan to write")
    if fmt == "pdf":
        render_plan_pdf(plan, out)
    else:
        write_atomically(out, render_plan_markdown(plan))
    print(f"plan for {incident}: {plan.title} → {out}", file=sys.stderr)
