"""Database status for `/health`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from pgsearch.migrations import current_revision


@dataclass(frozen=True)
class DatabaseStatus:
    """Versions reported by a reachable database."""

    postgres_version: str
    pgvector_version: str | None
    schema_revision: str | None


def database_status(engine: Engine) -> DatabaseStatus:
    """Query versions; raises SQLAlchemy errors when the database is unreachable."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT current_setting('server_version'),"
                " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            )
        ).one()
        return DatabaseStatus(
            postgres_version=row[0], pgvector_version=row[1], schema_revision=current_revision(conn)
        )
