"""`/users` and `/health` over HTTP, including every bad input and an unreachable database."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pgsearch import db
from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig


def test_list_empty_then_create(client: TestClient) -> None:
    assert client.get("/users").json() == []
    r = client.post("/users", json={"name": "김철수"})
    assert r.status_code == 201
    assert r.json() == {"id": 1, "name": "김철수", "language": None}
    assert client.get("/users").json() == [{"id": 1, "name": "김철수", "language": None}]


def test_pagination(client: TestClient) -> None:
    for i in range(5):
        client.post("/users", json={"name": f"u{i}"})
    page = client.get("/users", params={"limit": 2, "offset": 1}).json()
    assert [u["name"] for u in page] == ["u1", "u2"]
    assert len(client.get("/users").json()) == 5


def test_unknown_query_parameter(client: TestClient) -> None:
    r = client.get("/users", params={"limt": 5})
    assert r.status_code == 422
    assert (
        r.json()["detail"]
        == "unknown query parameter(s) 'limt'; this endpoint takes: limit, offset"
    )


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "ten"}, {"offset": 2**40}],
)
def test_bad_pagination(client: TestClient, params: dict[str, int | str]) -> None:
    r = client.get("/users", params=params)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "query"


def test_get_patch_delete(client: TestClient) -> None:
    uid = client.post("/users", json={"name": "a"}).json()["id"]
    assert client.get(f"/users/{uid}").json() == {"id": uid, "name": "a", "language": None}
    r = client.patch(f"/users/{uid}", json={"name": "b"})
    assert r.status_code == 200 and r.json()["name"] == "b"
    assert client.patch(f"/users/{uid}", json={}).json()["name"] == "b"
    assert client.delete(f"/users/{uid}").status_code == 204
    assert client.get(f"/users/{uid}").status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_id_is_404(client: TestClient, method: str) -> None:
    kwargs = {"json": {"name": "x"}} if method == "patch" else {}
    r = getattr(client, method)("/users/7", **kwargs)
    assert r.status_code == 404
    assert r.json() == {"detail": "user 7 not found"}


@pytest.mark.parametrize("path", ["/users/0", "/users/-1", "/users/abc", f"/users/{2**31}"])
def test_bad_ids_are_422(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422
    assert len(r.json()["detail"]) == 1  # reported once, not once per dependency


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 51},
        {"name": "a\x00"},
        {"name": 5},
        {"name": None},
        {"name": "ok", "extra": 1},
        [],
        "name",
    ],
)
def test_bad_create_bodies(client: TestClient, body: object) -> None:
    r = client.post("/users", json=body)
    assert r.status_code == 422, r.text
    assert "detail" in r.json()
    assert client.get("/users").json() == []


def test_name_limits_are_characters_not_bytes(client: TestClient) -> None:
    r = client.post("/users", json={"name": "한" * 50})
    assert r.status_code == 201
    assert client.post("/users", json={"name": "한" * 51}).status_code == 422


def test_malformed_json(client: TestClient) -> None:
    r = client.post("/users", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_bad_patch(client: TestClient) -> None:
    uid = client.post("/users", json={"name": "a"}).json()["id"]
    assert client.patch(f"/users/{uid}", json={"name": ""}).status_code == 422
    assert client.get(f"/users/{uid}").json()["name"] == "a"


def test_health_up(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["postgres_version"].split(".")[0].isdigit()
    assert body["pgvector_version"]
    assert body["schema_revision"]


def test_openapi_docs(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text  # no CDN: the docs page works offline
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/users" in spec["paths"]


@pytest.fixture
def unreachable(pg_config: DatabaseConfig) -> Iterator[TestClient]:
    """The app pointed at a port where no database listens."""
    cfg = DatabaseConfig(
        _env_file=None, DB_HOST="127.0.0.1", DB_PORT=1, DB_PASSWORD="s3cr3t!", DB_CONNECT_TIMEOUT=2
    )
    db.configure(cfg)
    try:
        with TestClient(create_app()) as c:
            yield c
    finally:
        db.configure(pg_config)


def test_database_down_gives_503(unreachable: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = unreachable.get("/users")
    assert r.status_code == 503
    assert r.headers["retry-after"]
    assert "unavailable" in r.json()["detail"]
    h = unreachable.get("/health")
    assert h.status_code == 503
    assert h.json()["database"] == "down"
    assert "s3cr3t" not in h.text and "s3cr3t" not in r.text
    assert "database unavailable" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_pool_exhausted_gives_503(pg_config: DatabaseConfig) -> None:
    cfg = pg_config.model_copy(
        update={"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0, "DB_POOL_TIMEOUT": 0.3}
    )
    engine = db.configure(cfg)
    try:
        with TestClient(create_app()) as c:
            held = engine.connect()  # the only pooled connection
            try:
                r = c.get("/users")
                assert r.status_code == 503
                assert "busy" in r.json()["detail"]
            finally:
                held.close()
            assert c.get("/users").status_code == 200
    finally:
        db.configure(pg_config)
