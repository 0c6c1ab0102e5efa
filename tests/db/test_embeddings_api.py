"""`POST /v1/embeddings` (OpenAI's shape) and the documents-by-external-id endpoints."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.schemas import MAX_EMBEDDING_INPUT_CHARS, MAX_EMBEDDING_INPUTS
from tests.helpers import DIM, make_user

ADMIN = "admin-key-0123456789-abcdef"


def test_embeddings_match_the_builtin_model(client: TestClient) -> None:
    texts = ["PostgreSQL is a database.", "pgvector adds vector search"]
    r = client.post("/v1/embeddings", json={"input": texts, "model": "minilm"})
    assert r.status_code == 200, r.text
    body = r.json()
    model = get_embedder("minilm")
    assert body["object"] == "list" and body["model"] == model.name
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert {d["object"] for d in body["data"]} == {"embedding"}
    got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    assert got.shape == (2, DIM)
    np.testing.assert_allclose(got, model.embed(texts), atol=1e-6)
    assert body["usage"] == {"prompt_tokens": 8, "total_tokens": 8}


def test_embeddings_of_one_string_and_base64(client: TestClient) -> None:
    one = client.post("/v1/embeddings", json={"input": "hello world"}).json()
    assert len(one["data"]) == 1
    packed = client.post(
        "/v1/embeddings",
        json={
            "input": ["hello world"],
            "model": get_embedder("minilm").name,
            "encoding_format": "base64",
        },
    ).json()
    raw = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(raw, one["data"][0]["embedding"], atol=1e-7)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": []}, "1 to 1,000 texts"),
        ({"input": ["x"] * (MAX_EMBEDDING_INPUTS + 1)}, "1 to 1,000 texts"),
        ({"input": "x" * (MAX_EMBEDDING_INPUT_CHARS + 1)}, "at most 32000 characters"),
        ({"input": ""}, "at least 1 character"),
        ({"input": ["ok", 5]}, "valid string"),
        ({"input": [[1, 2, 3]]}, "valid string"),
        ({"input": "x\u0000"}, "NUL"),
        ({"input": "x", "model": "text-embedding-3-small"}, "not served here"),
        ({"input": "x", "dimensions": 1536}, "384-dimensional"),
        ({"input": "x", "encoding_format": "int8"}, "'float' or 'base64'"),
        ({"input": "x", "temperature": 1}, "Extra inputs"),
        ({}, "Field required"),
    ],
)
def test_bad_embedding_requests_are_422(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    r = client.post("/v1/embeddings", json=body)
    assert r.status_code == 422, r.text
    assert message in r.text


@pytest.fixture
def secured(pg_config: DatabaseConfig, settings_env: Callable[..., None]) -> Iterator[TestClient]:
    settings_env(PGSEARCH_ADMIN_KEY=ADMIN)
    with TestClient(create_app()) as c:
        yield c


def test_embeddings_need_a_valid_key_with_auth_on(secured: TestClient) -> None:
    assert secured.post("/v1/embeddings", json={"input": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert secured.post("/v1/embeddings", json={"input": "x"}, headers=wrong).status_code == 401
    admin = {"Authorization": f"Bearer {ADMIN}"}
    uid = secured.post("/users", json={"name": "u"}, headers=admin).json()["id"]
    key = secured.post(f"/users/{uid}/keys", headers=admin).json()["key"]
    r = secured.post(
        "/v1/embeddings", json={"input": "x"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text


def test_lookup_and_delete_by_external_id(client: TestClient) -> None:
    uid = make_user(client)
    other = make_user(client)
    docs = [{"text": f"text {e}", "external_id": e} for e in ("a", "b/c", "d")]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    client.post(f"/users/{other}/documents", json={"text": "theirs", "external_id": "a"})

    r = client.post(f"/users/{uid}/documents/lookup", json={"external_ids": ["d", "x", "a", "d"]})
    assert r.status_code == 200, r.text
    assert [(d["external_id"], d["text"]) for d in r.json()["documents"]] == [
        ("d", "text d"),
        ("a", "text a"),
    ]
    r = client.post(f"/users/{uid}/documents/delete", json={"external_ids": ["a", "b/c", "zz"]})
    assert r.json() == {"deleted": 2}
    left = client.post(f"/users/{uid}/documents/lookup", json={"external_ids": ["a", "b/c", "d"]})
    assert [d["external_id"] for d in left.json()["documents"]] == ["d"]
    theirs = client.post(f"/users/{other}/documents/lookup", json={"external_ids": ["a"]})
    assert [d["text"] for d in theirs.json()["documents"]] == ["theirs"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("delete", {"filter": {"a": 1}, "external_ids": ["a"]}, "either `filter` or"),
        ("delete", {"external_ids": []}, "at least 1 item"),
        ("delete", {"external_ids": [""]}, "at least 1 character"),
        ("lookup", {"external_ids": []}, "at least 1 item"),
        ("lookup", {"external_ids": ["a"] * 1001}, "at most 1000 items"),
        ("lookup", {}, "Field required"),
    ],
)
def test_bad_external_id_requests_are_422(
    client: TestClient, path: str, body: dict[str, object], message: str
) -> None:
    uid = make_user(client)
    r = client.post(f"/users/{uid}/documents/{path}", json=body)
    assert r.status_code == 422, r.text
    assert message in r.text


def test_lookup_of_an_unknown_user_is_404(client: TestClient) -> None:
    r = client.post("/users/999/documents/lookup", json={"external_ids": ["a"]})
    assert r.status_code == 404 and r.json()["detail"] == "user 999 not found"
