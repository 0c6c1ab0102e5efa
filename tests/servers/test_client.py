"""`pgsearch.client` against a real `pgsearch serve` (and, for retries, real HTTP servers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from pgsearch.client import (
    AsyncClient,
    Client,
    Forbidden,
    NotFound,
    PgsearchConnectionError,
    PgsearchHTTPError,
    ServiceUnavailable,
    Unauthorized,
    UnprocessableEntity,
)
from pgsearch.schemas import MAX_BATCH_DOCUMENTS
from tests.conftest import Serve
from tests.helpers import DIM, start_serve, stop_serve, wait_healthy
from tests.pgserver import TcpPostgres, free_port, tcp_postgres


def requests_to(client: Client, path_end: str) -> list[httpx.Request]:
    """Record the client's requests whose path ends with `path_end`, from now on."""
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> None:
        if request.url.path.endswith(path_end):
            seen.append(request)

    client.http.event_hooks["request"].append(hook)
    return seen


def test_users(pg: Client) -> None:
    user = pg.create_user("ada")
    assert pg.get_user(user.id) == user
    assert pg.update_user(user.id, name="ada l.").name == "ada l."
    assert user.id in [u.id for u in pg.list_users(limit=1000)]
    pg.delete_user(user.id)
    with pytest.raises(NotFound) as raised:
        pg.get_user(user.id)
    assert raised.value.status_code == 404
    assert raised.value.detail == f"user {user.id} not found"
    assert str(raised.value) == f"404: user {user.id} not found"


def test_errors_carry_the_servers_status_and_message(pg: Client, pg_user: int) -> None:
    with pytest.raises(UnprocessableEntity) as invalid:
        pg.create_user("")
    assert invalid.value.status_code == 422
    assert invalid.value.message == "body.name: String should have at least 1 character"
    with pytest.raises(UnprocessableEntity) as dims:
        pg.create_document(pg_user, "x", chunks=[{"text": "x", "embedding": [0.1, 0.2, 0.3]}])
    assert dims.value.detail == f"chunks[0].embedding has 3 dimensions, expected {DIM}"
    with pytest.raises(UnprocessableEntity) as bad_filter:
        pg.search(pg_user, "x", filter={"year": {"$gte": [1]}})
    assert "$gte" in bad_filter.value.message
    with pytest.raises(NotFound):
        pg.get_document(pg_user, 10**9)
    assert isinstance(invalid.value, PgsearchHTTPError)


def test_keys_and_auth_errors(pg: Client, pgsearch_serve: Serve, pg_user: int) -> None:
    created = pg.create_key(pg_user, name="laptop")
    assert created.key and created.name == "laptop"
    assert [k.id for k in pg.list_keys(pg_user)] == [created.id]
    with Client(pgsearch_serve.url, created.key) as own:
        assert own.get_user(pg_user).id == pg_user
        with pytest.raises(Forbidden) as forbidden:
            own.create_user("nope")
        assert forbidden.value.detail == "this endpoint needs the admin key"
        with pytest.raises(NotFound):
            own.get_user(pg_user + 1000)  # another user's: "not found", not "forbidden"
        assert pg.revoke_key(pg_user, created.id).revoked_at is not None
        with pytest.raises(Unauthorized) as revoked:
            own.get_user(pg_user)
        assert revoked.value.detail == "invalid or revoked API key"
    with Client(pgsearch_serve.url, api_key="") as anonymous, pytest.raises(Unauthorized) as e:
        anonymous.list_users()
    assert "Authorization" in e.value.message


def test_documents(pg: Client, pg_user: int) -> None:
    doc = pg.create_document(pg_user, "PostgreSQL is a database.", metadata={"lang": "en"})
    assert doc.metadata == {"lang": "en"} and doc.external_id is None
    assert pg.get_document(pg_user, doc.id).text == "PostgreSQL is a database."
    named = pg.create_document(pg_user, "first", external_id="a/b")
    again = pg.create_document(pg_user, "second", external_id="a/b")
    assert again.id == named.id
    found = pg.get_documents(pg_user, ["missing", "a/b"])
    assert [(d.external_id, d.text) for d in found] == [("a/b", "second")]
    pg.delete_document(pg_user, doc.id)
    with pytest.raises(NotFound):
        pg.delete_document(pg_user, doc.id)
    assert pg.delete_documents(pg_user, external_ids=["a/b", "zz"]) == 1
    pg.create_documents(pg_user, [{"text": f"t{i}", "metadata": {"odd": i % 2}} for i in range(6)])
    assert pg.delete_documents(pg_user, filter={"odd": 1}) == 3
    assert [d.metadata for d in pg.list_documents(pg_user)] == [{"odd": 0}] * 3
    with pytest.raises(TypeError):
        pg.delete_documents(pg_user)


def test_listing_is_an_iterator_over_pages(pg: Client, pg_user: int) -> None:
    result = pg.create_documents(
        pg_user, [{"text": f"doc {i}", "metadata": {"even": i % 2 == 0}} for i in range(25)]
    )
    pages = requests_to(pg, "/documents")
    listed = list(pg.list_documents(pg_user, page_size=10))
    assert [d.id for d in listed] == [d.id for d in result.documents]
    assert len(pages) == 3
    assert [p.url.params["after"] for p in pages] == ["0", str(listed[9].id), str(listed[19].id)]
    evens = pg.list_documents(pg_user, filter={"even": True}, page_size=5)
    assert next(evens).id == result.documents[0].id  # lazy: one page fetched so far
    assert len(pages) == 4
    assert len(list(evens)) == 12


def test_batches_are_split_at_the_servers_limit(pg: Client, pg_user: int) -> None:
    assert pg.batch_limit() == MAX_BATCH_DOCUMENTS  # read from the server's OpenAPI schema
    batches = requests_to(pg, "/documents/batch")
    docs = [{"text": f"n{i}", "external_id": f"e{i}"} for i in range(MAX_BATCH_DOCUMENTS + 3)]
    result = pg.create_documents(pg_user, docs)
    assert [len(json.loads(b.content)["documents"]) for b in batches] == [MAX_BATCH_DOCUMENTS, 3]
    assert result.inserted == MAX_BATCH_DOCUMENTS + 3
    assert [d.external_id for d in result.documents] == [d["external_id"] for d in docs]
    again = pg.create_documents(pg_user, docs[:5])
    assert (again.inserted, again.unchanged) == (0, 5)


def test_batches_are_split_by_size(pg: Client, pg_user: int) -> None:
    pg.batch_bytes = 1000
    batches = requests_to(pg, "/documents/batch")
    result = pg.create_documents(pg_user, [{"text": "x" * 300} for _ in range(7)])
    assert [len(json.loads(b.content)["documents"]) for b in batches] == [3, 3, 1]
    assert result.inserted == 7


def test_search(pg: Client, pg_user: int) -> None:
    pg.create_documents(
        pg_user,
        [
            {"text": "PostgreSQL is a relational database.", "metadata": {"lang": "en"}},
            {"text": "Bananas are yellow fruit.", "metadata": {"lang": "en"}},
            {"text": "PostgreSQL ist eine Datenbank.", "metadata": {"lang": "de"}},
        ],
    )
    hybrid = pg.search(pg_user, "relational database", k=2)
    assert hybrid.mode == "hybrid" and len(hybrid.results) == 2
    assert hybrid.results[0].text == "PostgreSQL is a relational database."
    keyword = pg.search(pg_user, "bananas", mode="keyword")
    assert [h.text for h in keyword.results] == ["Bananas are yellow fruit."]
    german = pg.search(pg_user, "database", mode="semantic", filter={"lang": "de"})
    assert [h.metadata for h in german.results] == [{"lang": "de"}]
    [vector] = pg.embed(["yellow fruit"])
    by_vector = pg.search(pg_user, vector=vector, k=1)
    assert by_vector.mode == "semantic"
    assert by_vector.results[0].text == "Bananas are yellow fruit."


def test_embed(pg: Client) -> None:
    vectors = pg.embed(["one", "two", "three"])
    assert [len(v) for v in vectors] == [DIM] * 3
    assert vectors[0] != vectors[1]
    assert pg.embed(["one"]) == vectors[:1]
    with pytest.raises(TypeError):
        pg.embed("one")
    with pytest.raises(UnprocessableEntity) as wrong_model:
        pg.embed(["x"], model="text-embedding-3-small")
    assert "not served here" in wrong_model.value.message


def test_url_and_key_from_the_environment(
    pgsearch_serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGSEARCH_URL", pgsearch_serve.url + "/")
    monkeypatch.setenv("PGSEARCH_API_KEY", pgsearch_serve.admin_key)
    with Client() as pg:
        assert pg.base_url == pgsearch_serve.url
        user = pg.create_user("from-env")
        pg.delete_user(user.id)
    monkeypatch.setenv("PGSEARCH_API_KEY", "wrong-key")
    with Client() as pg, pytest.raises(Unauthorized):
        pg.list_users()
    with Client(api_key=pgsearch_serve.admin_key) as pg:  # an argument wins over the variable
        pg.list_users()
    monkeypatch.delenv("PGSEARCH_URL")
    with Client() as pg:
        assert pg.base_url == "http://127.0.0.1:8000"


def test_unreachable_server_is_a_connection_error() -> None:
    with Client(f"http://127.0.0.1:{free_port()}") as pg, pytest.raises(PgsearchConnectionError):
        pg.health()


# -- 503 and Retry-After ----------------------------------------------------------------------


class Scripted(ThreadingHTTPServer):
    """A real HTTP server answering requests with the scripted (status, headers) in turn;
    the last one repeats. It records when each request came."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = script
        self.arrivals: list[float] = []
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: Scripted

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        s = self.server
        s.arrivals.append(time.monotonic())
        status, headers = s.script[min(len(s.arrivals), len(s.script)) - 1]
        if status == 200:
            body = json.dumps({"status": "ok", "database": "up"}).encode()
        else:
            body = json.dumps({"detail": "database unavailable, retry shortly"}).encode()
        self.send_response(status)
        for name, value in {**headers, "content-type": "application/json"}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[Callable[[list[tuple[int, dict[str, str]]]], Scripted]]:
    servers: list[Scripted] = []

    def start(script: list[tuple[int, dict[str, str]]]) -> Scripted:
        server = Scripted(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_503_is_retried_after_retry_after(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(503, {"Retry-After": "1"}), (503, {"Retry-After": "0.5"}), (200, {})])
    with Client(server.url) as pg:
        assert pg.health().status == "ok"
    gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert len(server.arrivals) == 3
    assert 1.0 <= gaps[0] < 1.8 and 0.5 <= gaps[1] < 1.3, gaps


def test_retry_after_as_a_date(scripted: Callable[..., Scripted]) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 2))
    server = scripted([(503, {"Retry-After": when}), (200, {})])
    with Client(server.url) as pg:
        pg.health()
    assert 0.9 <= server.arrivals[1] - server.arrivals[0] < 2.8  # a date has 1 s resolution


def test_retries_are_bounded(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(503, {"Retry-After": "3600"})])
    started = time.monotonic()
    with Client(server.url, retries=2, max_retry_wait=0.2) as pg:
        with pytest.raises(ServiceUnavailable) as raised:
            pg.health()
    assert len(server.arrivals) == 3
    assert time.monotonic() - started < 3
    assert raised.value.detail == "database unavailable, retry shortly"


async def test_async_client_retries_503(scripted: Callable[..., Scripted]) -> None:
    server = scripted([(503, {"Retry-After": "0.3"}), (200, {})])
    async with AsyncClient(server.url) as pg:
        assert (await pg.health()).database == "up"
    assert len(server.arrivals) == 2
    assert server.arrivals[1] - server.arrivals[0] >= 0.3


def test_a_serve_whose_database_restarts(tmp_path: Path) -> None:
    """The real condition: the database goes down, the serve answers 503 with Retry-After, and
    the client's retries get through once it is back."""
    with tcp_postgres(tmp_path / "pg", "svc", "svc-password", "retry") as postgres:
        _retries_through_a_restart(postgres, tmp_path)


def _retries_through_a_restart(postgres: TcpPostgres, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **postgres.env()}
    proc = start_serve(env, port, "--no-access-log", cwd=tmp_path)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        with Client(f"http://127.0.0.1:{port}", retries=8) as pg:
            pg.create_user("before")
            postgres.stop()
            restart = threading.Timer(1.0, postgres.start)
            restart.start()
            answers: list[int] = []
            pg.http.event_hooks["response"].append(lambda r: answers.append(r.status_code))
            assert [u.name for u in pg.list_users()] == ["before"]
            restart.join()
        assert answers[0] == 503 and answers[-1] == 200, answers
        with Client(f"http://127.0.0.1:{port}", retries=1, max_retry_wait=0.1) as pg:
            postgres.stop()
            with pytest.raises(ServiceUnavailable) as raised:
                pg.list_users()
        assert raised.value.detail == "database unavailable, retry shortly"
        assert raised.value.response.headers["retry-after"] == "2"
    finally:
        stop_serve(proc)


# -- AsyncClient against the real serve -------------------------------------------------------


async def test_async_client(pgsearch_serve: Serve) -> None:
    async with AsyncClient(pgsearch_serve.url, pgsearch_serve.admin_key) as pg:
        user = await pg.create_user("async")
        try:
            docs = [{"text": f"async doc {i}", "external_id": f"a{i}"} for i in range(12)]
            result = await pg.create_documents(user.id, docs)
            assert result.inserted == 12
            listed = [d async for d in pg.list_documents(user.id, page_size=5)]
            assert [d.external_id for d in listed] == [f"a{i}" for i in range(12)]
            hits = await pg.search(user.id, "async doc 3", mode="keyword", k=3)
            assert hits.results[0].external_id == "a3"
            [vector] = await pg.embed(["async doc 3"])
            assert len(vector) == DIM
            assert [d.text for d in await pg.get_documents(user.id, ["a1"])] == ["async doc 1"]
            assert await pg.delete_documents(user.id, external_ids=["a1", "a2"]) == 2
            with pytest.raises(NotFound) as raised:
                await pg.get_document(user.id, 10**9)
            assert raised.value.detail == f"document {10**9} not found"
        finally:
            await pg.delete_user(user.id)


def test_the_client_does_not_import_the_server() -> None:
    code = (
        "import sys, pgsearch.client; "
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'numpy', 'psycopg', 'pgsearch.db') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
