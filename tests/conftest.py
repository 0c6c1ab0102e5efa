"""Shared fixtures: one embedded PostgreSQL (pgvector) for the session, a clean database per test.

The folders say what a test needs:
- `unit/`: no database and no server (`uv run pytest tests/unit` starts nothing);
- `db/`: the session database, through the app (`client`) or the engine;
- `servers/`: real processes: the CLI and `serve` as subprocesses, PostgreSQL servers of their
  own, databases stopped or killed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pgsearch import db
from pgsearch.config import DatabaseConfig, get_settings
from pgsearch.embedded import get_embedded
from pgsearch.models import Base
from pgsearch.services import user_facts
from pgsearch.testing import temporary_database

if TYPE_CHECKING:
    from pgsearch.client import Client


def pytest_configure(config: pytest.Config) -> None:
    # The suite starts ~50 Python processes (two workers, the CLI and `serve` as subprocesses):
    # let them cache compiled modules. Where PYTHONDONTWRITEBYTECODE is set (containers, CI
    # images) each compiled every module it imported again: 3.6 s CPU per CLI start, 1.6 s cached.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    # A private base temp dir per session: pytest's shared `pytest-of-<user>` folder is re-made
    # 0700 by every session that starts, which would lock the embedded server's system user
    # out of the data dirs of a session already running.
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="pgsearch-pytest-")
        config.add_cleanup(lambda: shutil.rmtree(config.option.basetemp, ignore_errors=True))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test under unit/ that asks for the database (directly or through a fixture), and
    keep the tests that share an expensive fixture on one xdist worker."""
    unit = Path(__file__).parent / "unit"
    for item in items:
        if item.path.is_relative_to(unit) and "pg_config" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the database: move it to tests/db/")
    for item, group in _shared_fixture_groups(items).items():
        item.add_marker(pytest.mark.xdist_group(group))


# Session fixtures every xdist worker makes for itself (each worker has its own database).
PER_WORKER = {"pg_config"}


def _shared_fixture_groups(items: list[pytest.Item]) -> dict[pytest.Item, str]:
    """A group name for each test that shares one of our module- or session-scoped fixtures (a
    server, a browser) with other tests; tests linked through any such fixture share a group.

    `--dist loadgroup` runs a group on one worker, so the fixture is made once, not per worker;
    the other tests go to whichever worker is free.
    """
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    keys: dict[pytest.Item, list[str]] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        module = item.nodeid.split("::")[0].removeprefix("tests/").removesuffix(".py")
        for name in info.names_closure:
            defs = info.name2fixturedefs.get(name)
            # Ours only: a plugin's session fixtures (pytest-asyncio's loop policy) are cheap.
            if not defs or not defs[-1].baseid.startswith("tests") or name in PER_WORKER:
                continue
            scope = defs[-1].scope
            if scope == "session":
                keys.setdefault(item, []).append(name)
            elif scope == "package":
                keys.setdefault(item, []).append(defs[-1].baseid)
            elif scope in ("module", "class"):
                keys.setdefault(item, []).append(module)
    for item_keys in keys.values():
        for key in item_keys[1:]:
            parent[root(key)] = root(item_keys[0])
    return {item: root(item_keys[0]) for item, item_keys in keys.items()}


@pytest.fixture(scope="session")
def pg_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseConfig]:
    """Start an embedded PostgreSQL in a temp dir; migrate it; stop it at the end."""
    data_dir = tmp_path_factory.mktemp("pgsearch-data")
    with temporary_database(data_dir, DB_NAME="pgsearch_test") as config:
        # A throwaway cluster need not survive a power cut: commits (each test's TRUNCATE
        # included) then skip the flush to disk, which on a shared disk took most of their time.
        with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(text(f"ALTER SYSTEM SET {setting} = off"))
            conn.execute(text("SELECT pg_reload_conf()"))
        yield config
    assert not get_embedded(config).is_running(), "the embedded server outlived the test session"


@pytest.fixture(autouse=True)
def clean_db(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after each test that used the database."""
    yield
    if "pg_config" not in request.fixturenames:
        return
    config = request.getfixturevalue("pg_config")
    db.configure(config)  # a test may have pointed the engine elsewhere
    user_facts.forget()  # ids restart at 1: the next test's user 1 is another user
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set `PGSEARCH_*` variables for one test (settings are cached: the cache is reset too)."""

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def client(pg_config: DatabaseConfig) -> Iterator[TestClient]:
    """An HTTP client for the app, lifespan included."""
    from pgsearch.api.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def secured(pg_config: DatabaseConfig, settings_env: Callable[..., None]) -> Iterator[TestClient]:
    """`client` with API keys on: the admin key is `tests.helpers.ADMIN_KEY`."""
    from pgsearch.api.app import create_app
    from tests.helpers import ADMIN_KEY

    settings_env(PGSEARCH_ADMIN_KEY=ADMIN_KEY)
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh folder for a test's own embedded server."""
    return tmp_path / "data"


@dataclass(frozen=True)
class Serve:
    """A running `pgsearch serve`: its URL and admin key."""

    url: str
    admin_key: str


@pytest.fixture(scope="session")
def pgsearch_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """One real `pgsearch serve` (own embedded database, auth on) for the session's HTTP
    clients; tests make their own users in it."""
    from tests.helpers import running_serve

    tmp = tmp_path_factory.mktemp("serve")
    admin_key = "client-admin-key-0123456789"
    with running_serve(tmp, "--no-access-log", PGSEARCH_ADMIN_KEY=admin_key) as url:
        yield Serve(url=url, admin_key=admin_key)


@pytest.fixture
def pg(pgsearch_serve: Serve) -> Iterator[Client]:
    """A `pgsearch.client.Client` on the shared `serve`, with its admin key."""
    from pgsearch.client import Client

    with Client(pgsearch_serve.url, pgsearch_serve.admin_key) as c:
        yield c


@pytest.fixture
def pg_user(pg: Client) -> Iterator[int]:
    """A new user in the shared `serve`, deleted after the test."""
    user = pg.create_user("test user")
    yield user.id
    pg.delete_user(user.id)
