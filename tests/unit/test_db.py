"""Database layer without a database: no work at import, where migrations live, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.errors import DatabaseInitError
from pgsearch.migrations import MIGRATIONS_DIR, alembic_config


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


def test_migrations_ship_inside_package(tmp_path: Path) -> None:
    """The built wheel holds every migration file, and pgsearch installed from it (not this
    checkout) finds its scripts and the same head revision."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to its own path
    assert uv, "uv is needed to build the wheel"
    subprocess.run(
        [uv, "build", "--wheel", "--offline", "--quiet", "--out-dir", str(tmp_path)],
        check=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    (wheel,) = tmp_path.glob("pgsearch-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    sources = {
        f"pgsearch/migrations/{p.relative_to(MIGRATIONS_DIR).as_posix()}"
        for p in MIGRATIONS_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources - shipped == set()
    code = (
        "from alembic.script import ScriptDirectory;"
        "from pgsearch.migrations import alembic_config;"
        "s = ScriptDirectory.from_config(alembic_config());"
        "print(s.dir); print(s.get_current_head())"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    script_dir, head = run.stdout.split()
    assert Path(script_dir).is_relative_to(tmp_path / "site")
    assert head == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_init_database_error_is_clear(tmp_path: Path) -> None:
    cfg = DatabaseConfig(_env_file=None, DB_HOST="127.0.0.1", DB_PORT=1, DB_CONNECT_TIMEOUT=2)
    engine = db.create_db_engine(cfg)
    try:
        with pytest.raises(DatabaseInitError, match="could not enable the pgvector extension"):
            db.init_database(engine=engine, echo=lambda _: None)
    finally:
        engine.dispose()


def test_search_pool_size() -> None:
    """The search route's pool: the setting when given, else twice the cores (at least 4),
    never more than DB_POOL_SIZE."""
    cores = os.cpu_count() or 1
    default = DatabaseConfig(_env_file=None, DB_POOL_SIZE=1000)
    assert db.create_async_pool(default).max_size == max(4, 2 * cores)
    small = DatabaseConfig(_env_file=None, DB_POOL_SIZE=3)
    assert db.create_async_pool(small).max_size == 3
    given = DatabaseConfig(_env_file=None, DB_POOL_SIZE=3, DB_SEARCH_POOL_SIZE=7)
    assert db.create_async_pool(given).max_size == 7
