"""The search fast path (api/fast_search.py) answers exactly as the route does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pgsearch.api import fast_search
from pgsearch.services import search as search_service
from tests.helpers import ADMIN_KEY, bearer, make_user, unit, vec_doc

# The route's content type, spelt so that the fast path leaves the request to the route.
ROUTE_ONLY = "application/json; charset=utf-8"


# TestClient's response type (httpx's, or a fork of it, depending on Starlette's version).
Response = Any


def _both(
    client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[Response, Response]:
    """The same search sent the usual way (fast path) and the way only the route takes."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    fast = client.post(
        path, content=content, headers={**(headers or {}), "content-type": "application/json"}
    )
    route = client.post(
        path, content=content, headers={**(headers or {}), "content-type": ROUTE_ONLY}
    )
    return fast, route


def _same(fast: Response, route: Response) -> None:
    assert fast.status_code == route.status_code, (fast.text, route.text)
    assert fast.content == route.content
    for header in ("content-type", "www-authenticate", "retry-after"):
        assert fast.headers.get(header) == route.headers.get(header), header


def _corpus(client: TestClient, headers: dict[str, str] | None = None) -> int:
    uid = make_user(client) if headers is None else _admin_user(client, headers)
    docs = [
        vec_doc(f"grep searches text in files {i}", unit(i), external_id=f"d{i}", metadata={"n": i})
        for i in range(6)
    ]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs}, headers=headers)
    assert r.status_code == 200, r.text
    return uid


def _admin_user(client: TestClient, headers: dict[str, str]) -> int:
    r = client.post("/users", json={"name": "u"}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_fast_path_takes_the_usual_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = _corpus(client)
    calls: list[int] = []
    search_async = search_service.search_async

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await search_async(*args, **kwargs)

    monkeypatch.setattr(fast_search, "search_async", counted)
    fast, route = _both(client, f"/users/{uid}/search", {"vector": unit(1), "mode": "semantic"})
    assert fast.status_code == route.status_code == 200
    assert len(calls) == 1  # the usual request only
    assert fast.json()["results"][0]["external_id"] == "d1"


@pytest.mark.parametrize(
    "body",
    [
        {"vector": unit(2), "mode": "semantic", "k": 3},
        {"vector": unit(2), "mode": "semantic", "filter": {"n": {"$gte": 4}}},
        {"query": "grep files", "mode": "keyword", "k": 2},
        {"query": "grep files", "filter": {"n": 3}},
        {"query": "grep files", "highlight": True, "k": 1},
        {"vector": unit(2), "mode": "semantic", "k": 0},  # 422
        {"vector": unit(2), "mode": "semantic", "extra": 1},  # 422
        {"mode": "semantic"},  # 422
        {"vector": unit(2), "filter": {"$bad": 1}},  # 422 from the filter compiler
        {"vector": [1.0, 2.0], "mode": "semantic"},  # 422: wrong dimension
        [1, 2],  # 422: not an object
        b"{not json",  # 422: not JSON
        b"",  # 422: no body
        b"\xff\xfe{}",  # not UTF-8
        # JSON that the fast path's parser refuses and `json.loads` reads, or reads differently
        # from a parser that turns big integers into floats.
        b'\xef\xbb\xbf{"query": "grep files", "k": 2}',  # a UTF-8 BOM
        b'{"query": "grep \\ud800 files", "mode": "keyword"}',  # a lone surrogate
        json.dumps({"vector": [float("nan"), *unit(2)[1:]], "mode": "semantic"}).encode(),
        {"query": "grep", "filter": {"n": {"$lt": 123456789012345678901234567890}}},
        {"query": "grep", "filter": {"n": 12345678901234567890}},
    ],
)
def test_fast_path_answers_as_the_route(client: TestClient, body: Any) -> None:
    uid = _corpus(client)
    _same(*_both(client, f"/users/{uid}/search", body))


def test_fast_path_missing_user_and_bad_ids(client: TestClient) -> None:
    uid = _corpus(client)
    body = {"vector": unit(1), "mode": "semantic"}
    for path in (f"/users/{uid + 1000}", "/users/0", "/users/99999999999", "/users/x"):
        _same(*_both(client, f"{path}/search", body))


def test_fast_path_checks_keys_as_the_route(secured: TestClient) -> None:
    admin = bearer(ADMIN_KEY)
    uid = _corpus(secured, admin)
    other = _admin_user(secured, admin)
    key = secured.post(f"/users/{uid}/keys", json={"name": "k"}, headers=admin).json()["key"]
    prefix = key.split("_")[1]
    body = {"vector": unit(1), "mode": "semantic"}
    path = f"/users/{uid}/search"
    for headers in (
        None,
        bearer("wrong"),
        bearer(f"pgs_{prefix}_wrong-secret"),  # a real prefix, a forged secret
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": "Bearer"},
        admin,
        bearer(key),
    ):
        fast, route = _both(secured, path, body, headers)
        _same(fast, route)
    ok = _both(secured, path, body, bearer(key))[0]
    assert ok.status_code == 200 and ok.json()["results"]
    forged = _both(secured, path, body, bearer(f"pgs_{prefix}_wrong-secret"))[0]
    assert forged.status_code == 401
    # A user's key reaches no one else's documents; bad input still gets its 422 after the key.
    _same(*_both(secured, f"/users/{other}/search", body, bearer(key)))
    assert _both(secured, f"/users/{other}/search", body, bearer(key))[0].status_code == 404
    _same(*_both(secured, path, {"k": 0}, bearer(key)))
    _same(*_both(secured, path, {"k": 0}, bearer("wrong")))
