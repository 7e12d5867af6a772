"""`cxw job detect` (the scheduled detection job) and `cxw job deliver` (retry webhook messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.commands.apps import app
from backend.commands.progress import QUIET, stage_progress

console = Console(stderr=True)
job_app = typer.Typer(help="Jobs for a scheduler (cron, CI, Airflow): detection and webhook delivery.",
                      no_args_is_help=True)
app.add_typer(job_app, name="job")


@job_app.command("detect")
def detect(
    workspace: str = typer.Argument(..., help="Workspace YAML (or its folder), or the id of a registered workspace."),
    post: list[str] = typer.Option([], "--post", help="Webhook URL for each NEW incident (repeatable)."),
    fmt: str = typer.Option("auto", "--format", help="auto (Slack hooks get {text}), slack or json."),
    full: bool = typer.Option(False, "--full", help="Analyse all data, not only data since the last successful run."),
    incidents: Path = typer.Option(None, "--incidents",
                                   help="Store this incidents.json (from `cxw analyze`: the same incidents the job would "
                                        "compute) instead of analysing."),
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Analyse new data since the last successful run, store incidents, post the new ones to webhooks."""
    from backend.commands.service import open_database
    from backend.jobs.detect import run_detect
    from data.errors import UserError

    if fmt not in ("auto", "slack", "json"):
        raise UserError(f"--format {fmt!r}: use auto, slack or json")
    settings, sessions = open_database()
    target: str | int = int(workspace) if workspace.isdigit() else workspace
    with stage_progress(console, quiet) as progress:
        result = run_detect(sessions, settings, target, webhooks=post, fmt=fmt, full=full, incidents_file=incidents,
                            progress=progress)
    run = result.run
    scanned = run["scanned"]
    console.print(f"run {run['id']} {run['status']}: {run['incidents_new']} new, {run['incidents_updated']} updated "
                  f"incident(s), {run['messages_queued']} message(s) queued"
                  + (f" (watermark {run['watermark']})" if run["watermark"] else "")
                  + (f"; scanned {scanned['window_start']} to {scanned['end']}" if scanned else ""))
    if result.delivery is not None:
        d = result.delivery
        console.print(f"webhooks: {d.delivered} delivered, {d.failed} failed attempt(s), {d.pending} pending")
        if d.pending:
            console.print("[yellow]undelivered messages stay in the outbox; the next run or `cxw job deliver` "
                          "retries them[/yellow]")


@job_app.command("deliver")
def deliver(budget: float = typer.Option(None, "--budget", help="Seconds to keep retrying (default from settings).")
            ) -> None:
    """Deliver due webhook messages from the outbox (with retries and backoff)."""
    from backend.commands.service import open_database
    from backend.webhooks import deliver_due

    settings, sessions = open_database()
    d = deliver_due(sessions, settings, budget_seconds=budget)
    console.print(f"webhooks: {d.delivered} delivered, {d.failed} failed attempt(s), {d.pending} pending")
