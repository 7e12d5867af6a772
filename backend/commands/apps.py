"""The `cxw` Typer applications the command modules attach their sub-commands to.

They live apart from `backend.cli` (which imports every command module) so that a command module never
imports the module that imports it.
"""

from __future__ import annotations

from enum import Enum

import typer

app = typer.Typer(
    name="cxw",
    help="CX Workbench: detect, localize, explain and fix regressions in operational metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
generate_app = typer.Typer(help="Generate synthetic datasets with a known answer.", no_args_is_help=True)
app.add_typer(generate_app, name="generate")


class Engine(str, Enum):
    """``--engine``: where a command's record scans run (`data.engines`)."""

    duckdb = "duckdb"
    spark = "spark"
