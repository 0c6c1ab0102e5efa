"""The `pgsearch` CLI: db-url, init-db, psql, and `serve` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from tests.helpers import run_pgsearch, start_serve, stop_serve, wait_healthy
from tests.pgserver import free_port

HOSTILE = "p@ss:w/rd#%?&="


def run_cli(
    *args: str, data_dir: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(data_dir), **env}
    return run_pgsearch(*args, env=full_env, cwd=data_dir.parent, timeout=timeout)


def postgres_running(data_dir: Path) -> bool:
    return (data_dir / "postgres" / "postmaster.pid").exists()


def test_unreachable_database_one_line_error(tmp_path: Path) -> None:
    r = run_cli("init-db", data_dir=tmp_path / "d", DB_HOST="127.0.0.1", DB_PORT=str(free_port()))
    assert r.returncode == 1
    assert "error: cannot connect to PostgreSQL at 127.0.0.1:" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_init_db_embedded_twice(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    first = run_cli("init-db", data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    assert "✓ pgvector extension enabled" in first.stdout
    assert "✓ pgsearch_bm25 extension enabled" in first.stdout
    assert run_cli("init-db", data_dir=data_dir).returncode == 0
    assert not postgres_running(data_dir), "init-db must stop the server it started"


def test_build_extension_for_a_missing_server_one_line_error(tmp_path: Path) -> None:
    r = run_cli("build-extension", "--pg-config", str(tmp_path / "nope"), data_dir=tmp_path / "d")
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot run")
    assert len(r.stderr.strip().splitlines()) == 1


def test_psql(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    r = run_cli("psql", "--", "-tAc", "SELECT 40 + 2", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "42"
    assert not postgres_running(data_dir)


def test_serve_health_sigterm_and_persistence(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_serve(
        {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(data_dir)}, port, cwd=tmp_path
    )
    try:
        wait_healthy(url, proc)
        assert httpx.post(url + "/users", json={"name": "persist me"}).status_code == 201
        # A second process on the same data dir shares the running server...
        assert run_cli("init-db", data_dir=data_dir).returncode == 0
        # ...and leaving does not stop it under the first one.
        assert httpx.get(url + "/users").status_code == 200
    finally:
        out = stop_serve(proc)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    assert not postgres_running(data_dir), "no orphan postgres after SIGTERM"

    proc = start_serve(
        {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(data_dir)}, port, cwd=tmp_path
    )
    try:
        wait_healthy(url, proc)
        assert [u["name"] for u in httpx.get(url + "/users").json()] == ["persist me"]
        # A second server on the same port fails at once, with a message, before starting up.
        second = run_cli("serve", "--port", str(port), data_dir=data_dir)
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert "Initializing" not in second.stdout
    finally:
        stop_serve(proc)
    assert not postgres_running(data_dir)


def test_serve_refuses_public_interface_without_auth(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DB_HOST": "",
        "DB_DATA_DIR": str(tmp_path / "d"),
        "PGSEARCH_ADMIN_KEY": "",
    }
    r = run_pgsearch("serve", "--host", "0.0.0.0", env=env)
    assert r.returncode == 1
    assert "PGSEARCH_ADMIN_KEY" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "d").exists()  # refused before starting anything


def test_cli_rejects_short_admin_key_without_echoing_it(tmp_path: Path) -> None:
    env = {**os.environ, "PGSEARCH_ADMIN_KEY": "tiny-secret"}
    r = run_pgsearch("db-url", env=env)
    assert r.returncode == 1
    assert "at least 16 characters" in r.stderr and "tiny-secret" not in r.stderr
