"""The `cxw` command line: one sub-command per pipeline stage, composed here.

User mistakes (`data.errors.UserError`) print one line to stderr and exit 2; never a traceback.
"""

from __future__ import annotations

import sys

import typer

# Each command module attaches its sub-commands to `app` when imported (kept apart so each stays small).
from backend.commands import analyze_commands, ask_commands, data_commands, detect_commands  # noqa: F401
from backend.commands import generate_commands, incidents_commands, job_commands, localize_commands  # noqa: F401
from backend.commands import reconcile_commands, recommend_commands, runs_commands  # noqa: F401
from backend.commands import serve_commands, signals_commands, token_commands  # noqa: F401
from backend.commands.apps import app
from data.errors import UserError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cxw` console script; returns the process exit code."""
    try:
        code = app(args=argv, standalone_mode=False)  # a command's typer.Exit(n) comes back as n
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
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
