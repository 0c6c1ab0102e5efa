"""Database layer without a database: no work at import, where migrations live, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.errors import DatabaseInitError
from pgsearch.migrations import MIGRATIONS_DIR


def test_import_does_not_connect_or_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-created"
    env = {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(data_dir)}
    code = (
        "import pgsearch.main, pgsearch.cli, pgsearch.db, pgsearch.models, pgsearch.embedded;"
        "from pgsearch.db import engine, SessionLocal, get_db, init_database;"
        "import sys; sys.exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert not data_dir.exists()


def test_migrations_ship_inside_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").exists()
    assert MIGRATIONS_DIR.parent.name == "pgsearch"


def test_init_database_error_is_clear(tmp_path: Path) -> None:
    cfg = DatabaseConfig(_env_file=None, DB_HOST="127.0.0.1", DB_PORT=1, DB_CONNECT_TIMEOUT=2)
    engine = db.create_db_engine(cfg)
    try:
        with pytest.raises(DatabaseInitError, match="could not enable the pgvector extension"):
            db.init_database(engine=engine, echo=lambda _: None)
    finally:
        engine.dispose()
