"""pgsearch on an "external" PostgreSQL over TCP, with a password full of URL-special characters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pgsearch import db
from pgsearch.api.app import create_app
from tests.helpers import run_pgsearch
from tests.pgserver import TcpPostgres, tcp_postgres

HOSTILE = "p@ss:w/rd#%?&="


@pytest.fixture(scope="module")
def tcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TcpPostgres]:
    with tcp_postgres(tmp_path_factory.mktemp("tcp-pg"), "app user", HOSTILE, "search db") as pg:
        yield pg


def test_users_api_on_external_server(tcp_server: TcpPostgres) -> None:
    cfg = tcp_server.config()
    db.configure(cfg)
    try:
        with TestClient(create_app()) as c:
            assert c.get("/health").status_code == 200
            assert c.post("/users", json={"name": "ext"}).status_code == 201
            assert [u["name"] for u in c.get("/users").json()] == ["ext"]
    finally:
        db.configure(None)


def test_wrong_password_is_a_clear_cli_error(tcp_server: TcpPostgres, tmp_path: Path) -> None:
    env = {**os.environ, **tcp_server.env(), "DB_PASSWORD": "wrong"}
    r = run_pgsearch("init-db", env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert f"127.0.0.1:{tcp_server.port}" in r.stderr
    assert "Traceback" not in r.stderr
    assert "wrong" not in r.stderr.replace("password authentication failed", "")
    assert r.stderr.count("\n") <= 2


def test_cli_init_db_on_external_server(tcp_server: TcpPostgres, tmp_path: Path) -> None:
    env = {**os.environ, **tcp_server.env()}
    r = run_pgsearch("init-db", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "✓ pgvector extension enabled" in r.stdout
    assert HOSTILE not in r.stdout + r.stderr
