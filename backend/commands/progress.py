"""Stage progress of a long command on stderr (rich): stage, records, elapsed time.

Shown only on a terminal: with ``--quiet`` or when stderr is not a terminal (a pipe, a log file, a
test) nothing is drawn, so logs and scripts see only the command's own lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from backend.progress import Progress, silent

QUIET = typer.Option("--quiet", "-q", help="No progress display on stderr (it is shown only on a terminal).")


@contextmanager
def stage_progress(console: Console, quiet: bool = False) -> Iterator[Progress]:
    """A `Progress` drawing a transient stage line on ``console`` while the block runs (silent when
    ``quiet`` or when the console is not a terminal)."""
    if quiet or not console.is_terminal:
        yield silent
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]}"),
               TimeElapsedColumn())
    with RichProgress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None, rows="")

        def report(stage: str, done: float | None = None, rows: int | None = None) -> None:
            fields: dict = {"description": stage, "total": None if done is None else 1.0,
                            "completed": 0.0 if done is None else done}
            if rows is not None:
                fields["rows"] = f"{rows:,} records"
            bar.update(task, refresh=True, **fields)

        yield report


__all__ = ["QUIET", "stage_progress"]
