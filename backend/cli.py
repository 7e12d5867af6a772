"""The `cxw` command line: one sub-command per pipeline stage, composed here.

User mistakes (`data.errors.UserError`) print one line to stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import sys

import typer

from data.errors import UserError

app = typer.Typer(
    name="cxw",
    help="CX Workbench: detect, localize, explain and fix regressions in operational metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
generate_app = typer.Typer(help="Generate synthetic datasets with a known answer.", no_args_is_help=True)
app.add_typer(generate_app, name="generate")


def _register_commands() -> None:
    """Import the modules that attach sub-commands to `app` (kept apart so each stays small)."""
    from backend.commands import analyze_commands, data_commands, detect_commands  # noqa: F401
    from backend.commands import generate_commands, localize_commands  # noqa: F401
    from backend.commands import job_commands, recommend_commands, serve_commands, token_commands  # noqa: F401
    from backend.commands import signals_commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cxw` console script; returns the process exit code."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=False)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except typer.Exit as exit_:
        return exit_.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except Exception as err:  # click usage errors come through here in non-standalone mode
        import click

        # typer >= 0.29 vendors click: its usage errors (e.g. `--orders abc`) are TyperExceptions
        if isinstance(err, click.ClickException | typer.TyperException) and hasattr(err, "show"):
            err.show()
            return err.exit_code
        raise
    return 0


if __name__ == "__main__":
    # `python -m backend.cli` runs this file as `__main__`, a second copy of the module; the command
    # modules attach to `backend.cli`'s apps, so run that copy's `main`.
    from backend.cli import main as package_main

    sys.exit(package_main())
