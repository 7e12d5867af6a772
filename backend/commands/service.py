"""What the service commands share: settings (refused when not deployable), a migrated database, sessions."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_sessionmaker, migrate
from backend.settings import Settings, get_settings


def open_database(settings: Settings | None = None) -> tuple[Settings, sessionmaker[Session]]:
    """Settings from the environment and sessions on a database migrated to the newest schema."""
    settings = settings or get_settings()
    settings.check_deployable()
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return settings, make_sessionmaker(engine)
