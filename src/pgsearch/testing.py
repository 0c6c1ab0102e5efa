"""A throwaway pgsearch database: for the test suite, the benchmarks, and your own tests."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from pgsearch import db
from pgsearch.config import DatabaseConfig, get_db_config, get_settings
from pgsearch.embedded import get_embedded


@contextmanager
def uninterruptible() -> Iterator[None]:
    """Ignore Ctrl-C while cleaning up: a second Ctrl-C must not leave a server running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def temporary_database(data_dir: Path, **env: str) -> Iterator[DatabaseConfig]:
    """A migrated embedded PostgreSQL in `data_dir`, with pgsearch pointed at it for the block.

    `env` sets more variables for the block (`DB_NAME`, `PGSEARCH_EMBEDDING_MODEL`, ...); a
    developer's own `DB_HOST` or admin key (environment or .env) never leaks in. At the end the
    engine is disposed, the server stopped (Ctrl-C ignored meanwhile), and the environment and
    the cached settings are what they were.
    """
    variables = {"DB_HOST": "", "DB_DATA_DIR": str(data_dir), "PGSEARCH_ADMIN_KEY": "", **env}
    try:
        with mock.patch.dict(os.environ, variables):
            _clear_cached_settings()
            config = get_db_config()
            server = get_embedded(config)
            try:
                server.start()
                db.configure(config)
                db.init_database(echo=lambda _: None)
                yield config
            finally:
                with uninterruptible():
                    db.dispose()
                    server.stop()
                    # A start that failed half-way can leave the socket folder behind (it is
                    # in the shared temp dir); a stop removes it.
                    shutil.rmtree(config.socket_dir, ignore_errors=True)
    finally:
        _clear_cached_settings()  # they were read from the environment just restored


def _clear_cached_settings() -> None:
    get_db_config.cache_clear()
    get_settings.cache_clear()
