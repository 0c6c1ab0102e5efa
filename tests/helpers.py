"""Small helpers shared by API tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.schemas import SearchRequest
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services import search as search_service
from tests.filter_cases import FILTER_CORPUS

DIM = 384  # the built-in model's dimension, which the test database is created with


def unit(*hot: int, dim: int = DIM) -> list[float]:
    """A hand-made vector with 1.0 at the given positions (so cosine ranks are predictable)."""
    v = [0.0] * dim
    for i in hot:
        v[i] = 1.0
    return v


def mix(weights: dict[int, float], dim: int = DIM) -> list[float]:
    """A vector with the given weights at the given positions."""
    v = [0.0] * dim
    for i, w in weights.items():
        v[i] = w
    return v


def make_user(client: TestClient, name: str = "u") -> int:
    r = client.post("/users", json={"name": name})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def vec_doc(text: str, vector: list[float], **extra: Any) -> dict[str, Any]:
    """A document with one client-embedded chunk."""
    return {"text": text, "chunks": [{"text": text, "embedding": vector}], **extra}


def filter_corpus_user(client: TestClient) -> int:
    """A new user holding FILTER_CORPUS: one document per key, with that key's metadata."""
    uid = make_user(client)
    docs = [
        vec_doc(key, unit(i), external_id=key, metadata=meta)
        for i, (key, meta) in enumerate(FILTER_CORPUS.items())
    ]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    return uid


def run_pgsearch(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the `pgsearch` CLI in a subprocess (the real entry point, real exit codes)."""
    return subprocess.run(
        [sys.executable, "-m", "pgsearch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def start_serve(env: dict[str, str], port: int, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """`pgsearch serve` as a real subprocess (output kept for failure messages)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pgsearch.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    """Poll /health until it answers 200; fail with the server's output if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


def stop_serve(proc: subprocess.Popen[str]) -> str:
    """SIGTERM the server, wait for it and return its output."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return out


# The admin key of the `secured` fixture's app.
ADMIN_KEY = "admin-key-0123456789-abcdef"


def bearer(key: str) -> dict[str, str]:
    """The header that sends an API key."""
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def running_serve(tmp: Path, *args: str, **env: str) -> Iterator[str]:
    """`pgsearch serve` (with `args`) on a new embedded database in `tmp`, with `env` (and no
    admin key unless given); its URL. Fails if the server printed a traceback."""
    from tests.pgserver import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inherited = {k: v for k, v in os.environ.items() if k != "PGSEARCH_ADMIN_KEY"}
    full_env = {**inherited, "DB_HOST": "", "DB_DATA_DIR": str(tmp / "data"), **env}
    proc = start_serve(full_env, port, *args, cwd=tmp)
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        out = stop_serve(proc)
    assert "Traceback" not in out, out


def run_concurrently(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Run `work(0)` … `work(count - 1)` in threads at once; what they raised."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def new_database(config: DatabaseConfig, name: str) -> DatabaseConfig:
    """`config` pointed at a new, empty database `name` on the same embedded server."""
    with _server_admin(config) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return config.model_copy(update={"DB_NAME": name})


def _server_admin(config: DatabaseConfig) -> psycopg.Connection[Any]:
    """A superuser connection to the embedded server of `config` (autocommit)."""
    conninfo = f"host={config.socket_dir} user=postgres dbname=postgres"
    return psycopg.connect(conninfo, autocommit=True)


@contextmanager
def module_database(config: DatabaseConfig, name: str) -> Iterator[DatabaseConfig]:
    """A new database `name` on the session's server for data a module's tests only read
    (the per-test TRUNCATE leaves it alone); the engine points at it for the block (the app's
    lifespan migrates it), back at `config` after, and it is dropped."""
    own = new_database(config, name)
    db.configure(own)
    try:
        yield own
    finally:
        db.configure(config)
        with _server_admin(config) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def executed_statements() -> Iterator[list[tuple[str, Mapping[str, Any]]]]:
    """(SQL, parameters) of each statement run in the block: by the engine (sessions) or by
    the search's own execution (`db.fetch_all`, `db.fetch_all_sync`)."""
    executed: list[tuple[str, Mapping[str, Any]]] = []

    def on_engine(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        executed.append((statement, params if isinstance(params, Mapping) else {}))

    def record(stmt: Any, values: Mapping[str, Any]) -> None:
        compiled = db.compile_statement(stmt)
        parameters = compiled.parameters(values)
        executed.append((compiled.sql, dict(zip(compiled.names, parameters, strict=True))))

    async def on_async(conn: Any, stmt: Any, values: Mapping[str, Any]) -> list[Any]:
        record(stmt, values)
        return await db.fetch_all(conn, stmt, values)

    def on_sync(conn: Any, stmt: Any, values: Mapping[str, Any]) -> list[Any]:
        record(stmt, values)
        return db.fetch_all_sync(conn, stmt, values)

    engine = db.get_engine()
    sqlalchemy_event.listen(engine, "before_cursor_execute", on_engine)
    try:
        with (
            mock.patch.object(search_service, "fetch_all", on_async),
            mock.patch.object(search_service, "fetch_all_sync", on_sync),
        ):
            yield executed
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", on_engine)


def service_search(
    session: Session, uid: int, request: SearchRequest, params: Bm25Params
) -> list[tuple[str, float]]:
    """(external_id, score) of each result of the search service, with these BM25 sizes."""
    response = search_service.search(
        session,
        user_id=uid,
        request=request,
        embedder=get_embedder("minilm"),
        bm25_params=params,
    )
    return [(str(h.external_id), h.score) for h in response.results]
