"""The Alembic migrations create exactly the models' schema, on SQLite and PostgreSQL, and go down and up."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.db import _alembic_config, head_revision, make_engine, migrate
from backend.models import Base


def test_migrated_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert context.get_current_revision() == head_revision()
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url):
    engine = make_engine(db_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    migrate(engine)  # idempotent
    assert {"incident", "audit", "outbox", "api_token"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'cxw.db'}")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_checkouts_never_wait_for_the_pool(tmp_path):
    """Reads on the event loop check out connections there: more than pool size + any overflow at once must
    not block (the pool would wait for connections that only the blocked loop could give back)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    engine.pool._timeout = 0.5  # a wait, if there were one, fails fast instead of after 30 s
    connections = [engine.connect() for _ in range(64)]
    assert all(c.execute(sa.text("SELECT 1")).scalar() == 1 for c in connections)
    for c in connections:
        c.close()
