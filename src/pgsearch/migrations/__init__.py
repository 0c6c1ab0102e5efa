"""Alembic migrations, shipped inside the package so an installed wheel can migrate itself."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

MIGRATIONS_DIR = Path(__file__).parent

# Any fixed number: serialises concurrent migrations (several workers starting at once).
_MIGRATION_LOCK_ID = 0x70677365  # "pgse"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(connection: Connection) -> str | None:
    """The schema revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of pgsearch."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_to_head(connection: Connection) -> str | None:
    """Upgrade the schema to the newest revision inside the caller's transaction.

    A schema already at the newest revision is left alone without taking the lock (every
    worker of `serve` checks at start).
    """
    if current_revision(connection) == head_revision():
        return current_revision(connection)
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), "head")
    return current_revision(connection)
