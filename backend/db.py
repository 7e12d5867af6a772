"""Database engine, sessions and migrations.

SQLite (the default, a file under the data dir) runs in WAL mode with a busy timeout so the server and
the job can write at the same time; PostgreSQL is used when ``CXW_DATABASE_URL`` says so. The schema is
owned by Alembic (`backend/migrations`); `migrate(engine)` upgrades to head and is called by the app at
start-up and by every CLI command that touches the database.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from data.errors import UserError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder; PostgreSQL through psycopg 3."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise UserError(f"CXW_DATABASE_URL {url!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # No overflow limit: SQLite reads run on the event loop (backend.api.cache.SingleFlight), and a
        # checkout there must never wait for a connection that only the loop itself can give back (the
        # worker threads bound how many sessions are open anyway; extra connections close on return).
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15},
                                  pool_size=8, max_overflow=-1, pool_pre_ping=False)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":  # plain postgresql:// means psycopg 3 here
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_size=8, max_overflow=24, pool_pre_ping=True)
    raise UserError(f"CXW_DATABASE_URL: unsupported database {parsed.get_backend_name()!r} (sqlite or postgresql)")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration (a no-op when it is already there: one query against the
    head read once per process, instead of Alembic compiling every migration file again)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = _alembic_config()
    try:
        with engine.begin() as connection:
            if MigrationContext.configure(connection).get_current_revision() == head_revision():
                return
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except sa.exc.OperationalError as err:
        raise UserError(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
                        f"{str(err.orig).strip().splitlines()[0]}") from None


@cache
def head_revision() -> str:
    """The newest migration's revision (the migrations ship with the code: read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
