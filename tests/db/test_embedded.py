"""Settings the embedded PostgreSQL runs with."""

from __future__ import annotations

from sqlalchemy import text

from pgsearch import db
from pgsearch.config import DatabaseConfig


def test_wal_is_sized_for_a_laptop(pg_config: DatabaseConfig) -> None:
    with db.get_engine().connect() as conn:
        shown = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("max_wal_size", "min_wal_size", "wal_keep_size", "wal_level")
        }
    # PostgreSQL's defaults are 1GB and 80MB: a bulk load left a few hundred MB of WAL behind.
    assert shown == {
        "max_wal_size": "128MB",
        "min_wal_size": "32MB",
        "wal_keep_size": "0",
        "wal_level": "replica",
    }
