"""Faults: the database going away, crashing under writes, the service killed mid-batch,
concurrent writers, and graceful shutdown."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pgsearch import db
from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from pgsearch.models import Chunk, Document
from tests.helpers import DIM, start_serve, unit, vec_doc, wait_healthy
from tests.pgserver import TcpPostgres, free_port, tcp_postgres


@pytest.fixture
def tcp_pg(tmp_path: Path) -> Iterator[TcpPostgres]:
    with tcp_postgres(tmp_path / "pg", "svc", "svc-password", "faults") as server:
        yield server


def test_database_restart_gives_503_then_recovers(
    tcp_pg: TcpPostgres, pg_config: DatabaseConfig
) -> None:
    db.configure(tcp_pg.config(DB_CONNECT_TIMEOUT=2))
    try:
        with TestClient(create_app()) as c:
            uid = c.post("/users", json={"name": "u"}).json()["id"]
            assert c.get("/users").status_code == 200
            tcp_pg.stop()
            started = time.monotonic()
            for path in ("/users", f"/users/{uid}/documents"):
                r = c.get(path)
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"]
            assert c.post(f"/users/{uid}/search", json={"vector": unit(0)}).status_code == 503
            assert c.get("/health").status_code == 503
            assert time.monotonic() - started < 15  # no hang
            tcp_pg.start()
            deadline = time.monotonic() + 10
            while c.get("/users").status_code != 200:
                assert time.monotonic() < deadline, "did not recover"
                time.sleep(0.2)
            assert c.get("/health").status_code == 200
    finally:
        db.configure(pg_config)


def test_acknowledged_writes_survive_sigkill(
    tcp_pg: TcpPostgres, pg_config: DatabaseConfig
) -> None:
    db.configure(tcp_pg.config(DB_CONNECT_TIMEOUT=2))
    acknowledged: list[str] = []
    try:
        with TestClient(create_app()) as c:
            uid = c.post("/users", json={"name": "writer"}).json()["id"]
            stop = threading.Event()

            def killer() -> None:
                # Kill once some writes are acknowledged, while more are in flight: counted, not
                # timed (on a busy machine the first second held only three writes).
                deadline = time.monotonic() + 120
                while len(acknowledged) < 10 and time.monotonic() < deadline:
                    time.sleep(0.05)
                tcp_pg.kill()
                stop.set()

            threading.Thread(target=killer).start()
            i = 0
            while not stop.is_set() or i < 5:
                ext = f"doc-{i}"
                r = c.post(
                    f"/users/{uid}/documents",
                    json=vec_doc(f"text {i}", unit(i % DIM), external_id=ext),
                )
                if r.status_code == 201:
                    acknowledged.append(ext)
                else:
                    assert r.status_code == 503, r.text
                i += 1
                if stop.is_set() and i > len(acknowledged) + 5:
                    break
        assert len(acknowledged) > 5
        tcp_pg.start()
        engine = db.create_db_engine(tcp_pg.config(DB_CONNECT_TIMEOUT=2))
        try:
            with engine.connect() as conn:
                stored = set(conn.scalars(select(Document.external_id)))
        finally:
            engine.dispose()
        assert set(acknowledged) <= stored
    finally:
        db.configure(pg_config)


def test_killing_the_service_mid_batch_leaves_all_or_nothing(
    tcp_pg: TcpPostgres, tmp_path: Path
) -> None:
    rng = random.Random(3)
    docs = [
        {
            "text": f"doc {i}",
            "external_id": f"b{i}",
            "chunks": [
                {"text": f"doc {i} part {j}", "embedding": unit((i + j) % DIM)} for j in range(4)
            ],
        }
        for i in range(1000)
    ]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for attempt in range(3):
        proc = start_serve({**os.environ, **tcp_pg.env()}, port, cwd=tmp_path)
        try:
            wait_healthy(url, proc)
            uid = httpx.post(url + "/users", json={"name": f"u{attempt}"}).json()["id"]

            def send(uid: int = uid) -> None:
                try:
                    httpx.post(
                        f"{url}/users/{uid}/documents/batch", json={"documents": docs}, timeout=60
                    )
                except httpx.TransportError:
                    pass

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(rng.uniform(0.3, 2.0))
            proc.kill()
            sender.join()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        engine = db.create_db_engine(tcp_pg.config(DB_CONNECT_TIMEOUT=2))
        try:
            with engine.connect() as conn:
                n_docs = conn.scalar(
                    select(func.count()).select_from(Document).where(Document.user_id == uid)
                )
                n_chunks = conn.scalar(
                    select(func.count()).select_from(Chunk).where(Chunk.user_id == uid)
                )
        finally:
            engine.dispose()
        assert (n_docs, n_chunks) in {(0, 0), (1000, 4000)}, (attempt, n_docs, n_chunks)


def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    env = {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(data_dir)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_serve(env, port, cwd=tmp_path)
    try:
        wait_healthy(url, proc)
        uid = httpx.post(url + "/users", json={"name": "u"}).json()["id"]
        # Built-in embedding of many chunks: a request that takes a few seconds.
        slow = {"documents": [{"text": f"sentence number {i} about shutdown"} for i in range(150)]}
        result: list[int] = []
        sender = threading.Thread(
            target=lambda: result.append(
                httpx.post(f"{url}/users/{uid}/documents/batch", json=slow, timeout=120).status_code
            )
        )
        sender.start()
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        sender.join()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result == [200], out
    assert proc.returncode == 0, out
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
