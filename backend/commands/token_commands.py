"""`cxw token create|list|revoke`: API tokens for people and jobs."""

from __future__ import annotations

import typer
from rich.console import Console

from backend.commands.apps import app

console = Console(stderr=True)
token_app = typer.Typer(help="API tokens: engineer (everything), pm (read-only), job (detection and posting).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(role: str = typer.Option(..., "--role", help="engineer, pm or job."),
           name: str = typer.Option(None, "--name", help="Who or what holds it (default: the role).")) -> None:
    """Issue a token and print it once (only its keyed hash is stored)."""
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import tokens

    settings, sessions = open_database()
    with sessions.begin() as session:
        token, secret = tokens.create(session, settings.secret_key, role, name or role, cli_actor())
        token_id = token.id
    console.print(f"token {token_id} ({role}, {name or role}); shown once, keep it safe:")
    print(secret)


@token_app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help="Include revoked tokens.")) -> None:
    """List tokens (never their secrets)."""
    from backend.commands.service import open_database
    from backend.crud import tokens

    _, sessions = open_database()
    with sessions() as session:
        rows, _ = tokens.list_tokens(session, limit=10_000)
    for t in rows:
        if t.revoked_at is None or all_:
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            print(f"{t.id}\t{t.role}\t{t.name}\t{t.prefix}…\t{state}")


@token_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="Token id (from `cxw token list`).")) -> None:
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import tokens

    _, sessions = open_database()
    with sessions.begin() as session:
        tokens.revoke(session, token_id, cli_actor())
    console.print(f"token {token_id} revoked")


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Create or upgrade the service database to the newest schema (the server does this at start too)."""
    from backend.commands.service import open_database
    from backend.db import head_revision

    settings, _ = open_database()
    console.print(f"database at revision {head_revision()}: {settings.resolved_database_url.split('@')[-1]}")
