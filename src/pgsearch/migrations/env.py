"""Alembic environment: runs on the caller's connection, or on one built from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from pgsearch.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the given connection, or connect with pgsearch's own settings."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # The `alembic` command line: pgsearch's own settings, embedded server included.
    from pgsearch.config import get_db_config
    from pgsearch.db import create_db_engine
    from pgsearch.embedded import database_running

    db_config = get_db_config()
    with database_running(db_config):
        engine = create_db_engine(db_config)
        try:
            with engine.begin() as conn:
                _run(conn)
        finally:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("pgsearch migrations run online only: use `pgsearch init-db`")
run_migrations_online()
