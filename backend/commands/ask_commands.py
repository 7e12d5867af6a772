"""`cxw ask`: a question in plain language over a workspace or a reconciliation output (`backend.ask`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.ask import AskOptions, ask, load_context
from backend.commands.apps import Engine, app
from backend.settings import get_settings
from data.errors import UserError

console = Console()


@app.command("ask")
def ask_command(
    source: Annotated[Path, typer.Argument(help="Workspace YAML file (or its folder), or a `cxw reconcile` output folder.")],
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    context: Annotated[Path, typer.Option("--context", help="A previous answer's JSON (from --json): the question "
                                                             "is a follow-up of it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON (the API's response).")] = False,
    engine: Annotated[Engine | None, typer.Option(
        "--engine", help="Where a workspace's record scans run (default: the workspace's engine, duckdb).")] = None,
) -> None:
    """Answer a question by computation: the numbers, the question as interpreted, the query, the assumptions."""
    previous = None
    if context is not None:
        try:
            text = context.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"--context {context}: cannot read ({err.__class__.__name__})") from None
        previous = load_context(text, f"--context {context}")
    answer = ask(source, question, previous, AskOptions.from_settings(get_settings()),
                 engine=engine.value if engine else None)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        console.print(answer.text, highlight=False, markup=False)
        if answer.answered:
            console.print(f"interpreted as: {answer.interpretation}", highlight=False, markup=False)
            for a in answer.assumptions:
                console.print(f"assumption: {a}", highlight=False, markup=False)
            console.print(f"query: {answer.query}", highlight=False, markup=False)
            if answer.parameters:
                console.print(f"parameters: {list(answer.parameters)}", highlight=False, markup=False)
        else:
            for s in answer.suggestions:
                console.print(f"try: {s}", highlight=False, markup=False)
    if not answer.answered:
        raise typer.Exit(1)
