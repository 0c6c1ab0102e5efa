"""Alembic migrations, shipped inside the package so an installed wheel can migrate itself."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

MIGRATIONS_DIR = Path(__file__).parent

# Any fixed number: serialises concurrent migrations (several workers starting at once).
_MIGRATION_LOCK_ID = 0x70677365  # "pgse"


def alembic_config(
    connection: Connection | None = None, *, embedding_dim: int | None = None
) -> Config:
    """An Alembic config pointing at the packaged scripts (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if embedding_dim is not None:
        cfg.attributes["embedding_dim"] = embedding_dim
    return cfg


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection, *, embedding_dim: int | None = None) -> str | None:
    """Upgrade the schema to the newest revision inside the caller's transaction."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection, embedding_dim=embedding_dim), "head")
    return current_revision(connection)
