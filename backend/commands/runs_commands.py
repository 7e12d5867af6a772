"""`cxw runs list|clear`: see detection runs and end one whose process died."""

from __future__ import annotations

import typer
from rich.console import Console

from backend.commands.apps import app

console = Console(stderr=True)
runs_app = typer.Typer(help="Detection runs: list them; clear a run left 'running' by a process that died.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_(workspace: int = typer.Option(None, "--workspace", help="Only this workspace's runs (its id)."),
          limit: int = typer.Option(20, "--limit", min=1, help="How many, newest first.")) -> None:
    """Runs, newest first; a running run whose process is gone is flagged 'dead'."""
    from backend.commands.service import open_database
    from backend.crud import runs

    _, sessions = open_database()
    with sessions() as session:
        rows, _ = runs.list_runs(session, workspace, limit=limit)
        for r in rows:
            reason = runs.is_dead(r)
            state = f"{r.status} (dead: {reason})" if reason else r.status
            where = f"{r.host.split()[0]}:{r.pid}" if r.host and r.pid else "-"
            print(f"{r.id}\tworkspace {r.workspace_id}\t{r.started_at:%Y-%m-%d %H:%M:%S}\t{where}\t{state}"
                  + (f"\t{r.error}" if r.error and r.status == "failed" else ""))


@runs_app.command("clear")
def clear(run_id: int = typer.Argument(..., help="Run id (from `cxw runs list`)."),
          force: bool = typer.Option(False, "--force",
                                     help="Clear even a run that looks alive (its process on another host may be "
                                          "gone without this host being able to tell).")) -> None:
    """Mark a run that is still 'running' failed, so the workspace can run again."""
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import runs

    _, sessions = open_database()
    with sessions.begin() as session:
        run = runs.clear(session, run_id, cli_actor(), force=force)
        message = run.error
    console.print(f"run {run_id} marked failed: {message}")
