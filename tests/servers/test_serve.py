"""`pgsearch serve` as a real subprocess: what HTTP clients and worker processes experience."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import running_serve, start_serve, stop_serve, wait_healthy
from tests.pgserver import free_port

LIMIT = 4096
TOO_BIG = 40 * 64 * 1024  # well over LIMIT, well under what the server reads to answer cleanly


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `pgsearch serve` with a 4 KB body limit, for the module."""
    tmp = tmp_path_factory.mktemp("serve")
    with running_serve(tmp, PGSEARCH_MAX_BODY_BYTES=str(LIMIT)) as url:
        yield url


def slowly(total: int, *, pieces: int = 40) -> Iterator[bytes]:
    """A body sent in pieces with pauses, so the client is still sending when the server answers."""
    for _ in range(pieces):
        yield b"x" * (total // pieces)
        time.sleep(0.01)


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
def test_httpx_client_reads_the_413(small_limit_server: str, length: bool, close: bool) -> None:
    headers = {"content-type": "application/json"}
    if length:
        headers["content-length"] = str(TOO_BIG)
    if close:
        headers["connection"] = "close"
    r = httpx.post(small_limit_server + "/users", content=slowly(TOO_BIG), headers=headers)
    assert r.status_code == 413
    assert "PGSEARCH_MAX_BODY_BYTES" in r.json()["detail"]


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
def test_urllib_client_reads_the_413(small_limit_server: str, length: bool) -> None:
    # urllib sends `Connection: close`: the server closing with the body half read resets it.
    headers = {"content-type": "application/json"}
    if length:
        headers["content-length"] = str(TOO_BIG)
    request = urllib.request.Request(
        small_limit_server + "/users", data=slowly(TOO_BIG), headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 413


def test_beyond_the_drain_cap_the_server_answers_and_closes(small_limit_server: str) -> None:
    # A declared 1 TB is not read at all: the 413 comes at once, and the connection is closed.
    port = int(small_limit_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /users HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % (1 << 40)
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"\r\nconnection: close\r\n" in answer.lower()


def test_slow_starting_workers_are_not_killed(tmp_path: Path) -> None:
    # Each worker process stalls 8 s before it can answer uvicorn's health check, as importing
    # the app does on a busy machine; uvicorn's default 5 s would kill and respawn them forever.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import sys, time\nif '--multiprocessing-fork' in sys.argv:\n    time.sleep(8)\n"
    )
    path = os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "DB_HOST": "", "DB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": path}
    port = free_port()
    proc = start_serve(env, port, "--workers", "2", cwd=tmp_path)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        out = stop_serve(proc)
    assert "died" not in out, out


def test_client_halves_a_batch_the_server_finds_too_large(small_limit_server: str) -> None:
    from pgsearch.client import Client, PayloadTooLarge

    with Client(small_limit_server) as pg:
        uid = pg.create_user("halves").id
        sizes: list[int] = []
        pg.http.event_hooks["request"].append(
            lambda r: sizes.append(len(r.content)) if r.url.path.endswith("/batch") else None
        )
        docs = [{"text": f"{i} " + "x" * 600} for i in range(8)]  # ~5 KB in one batch
        result = pg.create_documents(uid, docs)
        assert result.inserted == 8
        assert sizes[0] > LIMIT and all(s <= LIMIT for s in sizes[1:]), sizes
        with pytest.raises(PayloadTooLarge) as raised:
            pg.create_document(uid, "x" * LIMIT)
        assert "PGSEARCH_MAX_BODY_BYTES" in raised.value.message
