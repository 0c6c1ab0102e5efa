"""The app's start: what it serves through, and what stops it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pgsearch import db
from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.errors import ModelMismatch
from pgsearch.services.index import check_model
from tests.helpers import new_database


def test_app_refuses_to_start_on_another_models_vectors(
    pg_config: DatabaseConfig, settings_env: Callable[..., None]
) -> None:
    with db.get_sessionmaker().begin() as session:
        check_model(session, get_embedder("minilm"))
    settings_env(PGSEARCH_EMBEDDING_MODEL="wordllama")
    # Serving would mix two models' vectors (same dimension) or fail every request (not).
    with pytest.raises(ModelMismatch, match="pgsearch reembed"), TestClient(create_app()):
        pass


def test_connections_made_before_the_extension_register_it_at_checkout(
    pg_config: DatabaseConfig,
) -> None:
    # Another process may create the extension after this one's pool has connections.
    config = new_database(pg_config, "late_extension")
    engine = db.create_db_engine(config)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # pooled before the `vector` type exists
        conninfo = f"host={config.socket_dir} user=postgres dbname={config.DB_NAME}"
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION vector")
        vector = np.array([1, 2, 3], dtype=np.float32)
        with engine.connect() as conn:
            got = conn.exec_driver_sql("SELECT %(v)s::text", {"v": vector}).scalar()
        assert got == "[1,2,3]"
    finally:
        engine.dispose()
