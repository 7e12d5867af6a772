"""`cxw generate cx`: write a synthetic CX workspace with one injected cause and its `truth.json`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.commands.apps import generate_app
from data.synthetic.cx import SCENARIOS, generate_cx

PROGRESS_FROM_ORDERS = 200_000  # smaller runs finish before a bar is worth drawing


@generate_app.command("cx")
def generate_cx_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created; a previous output is replaced).")],
    orders: Annotated[int, typer.Option("--orders", help="Number of orders.")],
    scenario: Annotated[str, typer.Option("--scenario", help=f"One of: {', '.join(SCENARIOS)}.")],
    days: Annotated[int, typer.Option("--days", help="Days of history (at least 7).")] = 28,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD), UTC.")] = "2026-01-01",
) -> None:
    """Food-delivery orders with one real cause, decoy change events and the answer in truth.json."""
    if orders < PROGRESS_FROM_ORDERS:
        result = generate_cx(orders, days, seed, scenario, out, start)
    else:
        columns = (TextColumn("orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("orders", total=orders)
            result = generate_cx(orders, days, seed, scenario, out, start,
                                 progress=lambda done: bar.update(task, completed=done))
    where = ", ".join(f"{inj.scope} from {(result.start + timedelta(seconds=inj.start_s)).isoformat()}"
                      for inj in result.injections) or "nothing injected"
    typer.echo(f"wrote {result.orders:,} orders in {result.parts} files, {len(result.events)} change events "
               f"to {result.out} (scenario {result.scenario}: {where})")
