"""API keys, request limits and the loopback-only rule when authentication is off."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pgsearch import db
from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from tests.helpers import ADMIN_KEY, bearer, make_user, unit, vec_doc


def test_requests_need_a_key(secured: TestClient) -> None:
    for method, path in [
        ("get", "/users"),
        ("post", "/users/1/search"),
        ("get", "/users/1/documents"),
    ]:
        r = getattr(secured, method)(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization" in r.json()["detail"]
    assert secured.get("/health").status_code == 200
    bad = secured.get("/users", headers=bearer("wrong"))
    assert bad.status_code == 401 and bad.headers["www-authenticate"]
    assert secured.get("/users", headers={"Authorization": f"Basic {ADMIN_KEY}"}).status_code == 401


def test_no_keys_are_issued_with_auth_off(client: TestClient) -> None:
    """Anyone on loopback may call the API with auth off: a key minted then would start working
    the moment auth is turned on."""
    uid = make_user(client)
    r = client.post(f"/users/{uid}/keys", json={"name": "early"})
    assert r.status_code == 409
    assert "PGSEARCH_ADMIN_KEY" in r.json()["detail"]
    with db.get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0


def test_user_keys(secured: TestClient) -> None:
    admin = bearer(ADMIN_KEY)
    alice = secured.post("/users", json={"name": "alice"}, headers=admin).json()["id"]
    bob = secured.post("/users", json={"name": "bob"}, headers=admin).json()["id"]
    issued = secured.post(f"/users/{alice}/keys", json={"name": "laptop"}, headers=admin)
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith("pgs_") and issued.json()["prefix"] in key
    alice_h = bearer(key)

    # Only a hash is stored.
    with db.get_engine().connect() as conn:
        stored = conn.execute(text("SELECT prefix, key_hash FROM api_keys")).all()
    assert all(key not in (p, h) for p, h in stored)

    # Alice's key reaches Alice's data...
    assert (
        secured.post(
            f"/users/{alice}/documents", json=vec_doc("mine", unit(0)), headers=alice_h
        ).status_code
        == 201
    )
    assert (
        secured.post(
            f"/users/{alice}/search", json={"vector": unit(0), "mode": "semantic"}, headers=alice_h
        ).status_code
        == 200
    )
    assert secured.get(f"/users/{alice}", headers=alice_h).status_code == 200
    listed = secured.get(f"/users/{alice}/keys", headers=alice_h).json()
    assert [k["prefix"] for k in listed] == [issued.json()["prefix"]] and "key" not in listed[0]

    # ...and nobody else's: another user looks like a user that does not exist.
    for method, path in [
        ("get", f"/users/{bob}"),
        ("get", f"/users/{bob}/documents"),
        ("post", f"/users/{bob}/search"),
        ("get", f"/users/{bob}/keys"),
    ]:
        body = {"json": {"query": "x"}} if method == "post" else {}
        r = getattr(secured, method)(path, headers=alice_h, **body)
        assert r.status_code == 404 and r.json() == {"detail": f"user {bob} not found"}, path
    assert secured.get("/users/999999", headers=alice_h).json() == {
        "detail": "user 999999 not found"
    }
    # Admin-only endpoints.
    assert secured.get("/users", headers=alice_h).status_code == 403
    assert secured.post("/users", json={"name": "x"}, headers=alice_h).status_code == 403
    assert secured.post(f"/users/{alice}/keys", headers=alice_h).status_code == 403
    assert secured.delete(f"/users/{alice}", headers=alice_h).status_code == 403

    # Revoked keys stop working at once.
    key_id = issued.json()["id"]
    revoked = secured.delete(f"/users/{alice}/keys/{key_id}", headers=alice_h)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert secured.get(f"/users/{alice}", headers=alice_h).status_code == 401
    # The search route checks keys on its own (async) connection: the same rule.
    search = {"vector": unit(0), "mode": "semantic"}
    r = secured.post(f"/users/{alice}/search", json=search, headers=alice_h)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert secured.delete(f"/users/{alice}/keys/12345", headers=admin).status_code == 404


def test_a_listed_prefix_with_a_wrong_secret_is_401(secured: TestClient) -> None:
    """Prefixes are shown in key listings: only the whole secret may open the door."""
    admin = bearer(ADMIN_KEY)
    uid = secured.post("/users", json={"name": "alice"}, headers=admin).json()["id"]
    real = secured.post(f"/users/{uid}/keys", json={"name": "laptop"}, headers=admin).json()["key"]
    (listed,) = secured.get(f"/users/{uid}/keys", headers=admin).json()
    last = real[-1]
    forged = [
        f"pgs_{listed['prefix']}_{'A' * 43}",
        real[:-1] + ("B" if last != "B" else "C"),  # one character off
        f"pgs_{listed['prefix']}_",
    ]
    search = {"vector": unit(0), "mode": "semantic"}
    for key in forged:
        r = secured.get(f"/users/{uid}", headers=bearer(key))
        assert r.status_code == 401, key
        assert r.headers["www-authenticate"].startswith("Bearer")
        # The search route checks keys on its own (async) connection: the same rule.
        r = secured.post(f"/users/{uid}/search", json=search, headers=bearer(key))
        assert r.status_code == 401, key
    assert secured.get(f"/users/{uid}", headers=bearer(real)).status_code == 200
    assert (
        secured.post(f"/users/{uid}/search", json=search, headers=bearer(real)).status_code == 200
    )


def test_secrets_not_in_openapi_or_health(secured: TestClient, pg_config: DatabaseConfig) -> None:
    spec = secured.get("/openapi.json").text
    health = secured.get("/health").text
    for secret in (ADMIN_KEY, pg_config.DB_PASSWORD.get_secret_value() or "\x00never"):
        assert secret not in spec and secret not in health
    assert "HTTPBearer" in spec


@pytest.fixture
def small_bodies(
    pg_config: DatabaseConfig, settings_env: Callable[..., None]
) -> Iterator[TestClient]:
    settings_env(PGSEARCH_MAX_BODY_BYTES="2048")
    with TestClient(create_app()) as c:
        yield c


def test_body_size_limit(small_bodies: TestClient) -> None:
    uid = small_bodies.post("/users", json={"name": "u"}).json()["id"]
    r = small_bodies.post(f"/users/{uid}/documents", json={"text": "x" * 5000})
    assert r.status_code == 413 and "PGSEARCH_MAX_BODY_BYTES" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    streamed = small_bodies.post(
        f"/users/{uid}/documents", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert small_bodies.get(f"/users/{uid}/documents").json()["documents"] == []
    assert (
        small_bodies.post(f"/users/{uid}/documents", json=vec_doc("ok", unit(1))).status_code == 201
    )


def test_embedded_server_is_private(pg_config: DatabaseConfig) -> None:
    st = os.stat(pg_config.socket_dir)
    assert stat.S_IMODE(st.st_mode) == 0o700
    with db.get_engine().connect() as conn:
        assert conn.scalar(text("SHOW listen_addresses")) == ""
        assert conn.scalar(text("SHOW unix_socket_permissions")) == "0700"
    if os.geteuid() == 0:
        # Another local account cannot reach the socket.
        r = subprocess.run(
            ["ls", str(pg_config.socket_dir)],
            user="nobody",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode != 0 and "Permission denied" in r.stderr
