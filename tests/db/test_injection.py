"""Hostile input in queries, filters, ids and metadata: a 4xx or a correct answer, never SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pgsearch import db
from pgsearch.models import Chunk, Document, User
from tests.helpers import make_user, unit, vec_doc

ATTACKS = [
    "'; DROP TABLE users; --",
    "a') OR 1=1 --",
    '" OR ""="',
    "$.** ? (@ == 1)",
    "{a,b}",
    "\\x00",
    "😀 한국어 ﷽",
    "%s %(x)s {0}",
    "' || pg_sleep(5) || '",
    "a & b | !c <-> d:*",
]


@pytest.fixture
def owner(client: TestClient) -> int:
    uid = make_user(client)
    doc = vec_doc("plain text about apples", unit(0), external_id="safe", metadata={"k": "v"})
    assert client.post(f"/users/{uid}/documents", json=doc).status_code == 201
    return uid


def intact(expected_docs: int) -> None:
    with db.get_sessionmaker()() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        assert s.scalar(select(func.count()).select_from(Document)) == expected_docs
        assert s.scalar(select(func.count()).select_from(Chunk)) == expected_docs


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_queries(client: TestClient, owner: int, attack: str) -> None:
    for mode in ("keyword", "hybrid", "semantic"):
        r = client.post(f"/users/{owner}/search", json={"query": attack, "mode": mode})
        assert r.status_code == 200, (mode, r.text)
    intact(1)


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_filter_values_and_keys(client: TestClient, owner: int, attack: str) -> None:
    filters: list[dict[str, Any]] = [
        {"k": attack},
        {attack: "v"},
        {"k": {"$in": [attack, "v"]}},
        {"k": {"$gt": attack}},
        {"$or": [{"k": attack}, {attack.replace(".", "_") or "x": {"$exists": True}}]},
    ]
    for spec in filters:
        r = client.post(f"/users/{owner}/search", json={"vector": unit(0), "filter": spec})
        assert r.status_code in (200, 422), (spec, r.text)
        if r.status_code == 200 and spec == {"k": {"$in": [attack, "v"]}}:
            assert [h["external_id"] for h in r.json()["results"]] == ["safe"]
    intact(1)


@pytest.mark.parametrize(
    "spec",
    [
        {"k": "a\x00b"},
        {"a\x00": 1},
        {"n": 10**400},
        {"n": {"$gt": 2**70}},
        {"n": {"$gt": float("inf")}},
        {"a..b": 1},
        {".a": 1},
        {"$where": "1"},
        {"k": {"$regex": ".*"}},
        {"k": {"$in": list(range(5000))}},
        {"k": "x" * 5000},
    ],
)
def test_filters_that_must_be_rejected(
    client: TestClient, owner: int, spec: dict[str, Any]
) -> None:

    body = json.dumps({"vector": unit(0), "filter": spec}, allow_nan=True)
    r = client.post(
        f"/users/{owner}/search", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, (spec, r.text[:300])
    assert r.json()["detail"]
    intact(1)


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_ids_and_metadata_are_stored_verbatim(
    client: TestClient, owner: int, attack: str
) -> None:
    doc = vec_doc(attack, unit(1), external_id=attack, metadata={attack: attack})
    r = client.post(f"/users/{owner}/documents", json=doc)
    assert r.status_code == 201, r.text
    stored = client.get(f"/users/{owner}/documents/{r.json()['id']}").json()
    assert stored["external_id"] == attack and stored["metadata"] == {attack: attack}
    found = client.post(
        f"/users/{owner}/search",
        json={"vector": unit(1), "mode": "semantic", "filter": {"k": {"$exists": False}}},
    ).json()["results"]
    assert [h["external_id"] for h in found] == [attack]
    intact(2)


# JSON can carry a lone surrogate ("\ud800") that no UTF-8 encodes: PostgreSQL cannot store it
# and the tokenizers cannot read it. Sent as raw JSON text: client libraries refuse to encode it.
# pydantic refuses it in `str` fields ("unicode"); pgsearch checks the free-form JSON (metadata,
# filters) itself ("unpaired surrogate"). Either way a 422 whose echo of the input still renders.
SURROGATES = [
    ("/users", '{"name": "a\\ud800"}', "unicode"),
    ("/users/{uid}/documents", '{"text": "a\\ud800b"}', "unicode"),
    ("/users/{uid}/documents", '{"text": "x", "metadata": {"k\\udc00": 1}}', "unpaired surrogate"),
    ("/users/{uid}/documents", '{"text": "x", "metadata": {"k": ["\\ud800"]}}', "unpaired"),
    ("/users/{uid}/documents", '{"text": "x", "external_id": "e\\ud800"}', "unicode"),
    ("/users/{uid}/documents/batch", '{"documents": [{"text": "\\udfff"}]}', "unicode"),
    ("/users/{uid}/search", '{"query": "apples \\ud800"}', "unicode"),
    ("/users/{uid}/search", '{"query": "a", "filter": {"k": "\\udc00"}}', "unpaired surrogate"),
    ("/users/{uid}/documents/delete", '{"filter": {"k\\ud800": 1}}', "unpaired surrogate"),
    ("/users/{uid}/keys", '{"name": "\\ud800"}', "unicode"),
]


@pytest.mark.parametrize(("path", "body", "fragment"), SURROGATES)
def test_unpaired_surrogates_are_rejected(
    client: TestClient, owner: int, path: str, body: str, fragment: str
) -> None:
    r = client.post(
        path.format(uid=owner), content=body.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert fragment in r.text
    intact(expected_docs=1)


def test_unpaired_surrogate_in_a_list_filter_is_rejected(client: TestClient, owner: int) -> None:
    r = client.get(f"/users/{owner}/documents", params={"filter": '{"k": "\\ud800"}'})
    assert r.status_code == 422, r.text
    assert "unpaired surrogate" in r.text


def test_a_body_that_is_not_utf8_says_so(client: TestClient) -> None:
    r = client.post(
        "/users", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "request body is not UTF-8: send JSON encoded as UTF-8"


def test_a_body_without_its_json_content_type_says_what_to_send(client: TestClient) -> None:
    r = client.post("/users", content=b'{"name": "x"}', headers={"content-type": "text/plain"})
    assert r.status_code == 422
    assert "Content-Type: application/json" in r.json()["detail"][0]["msg"]
