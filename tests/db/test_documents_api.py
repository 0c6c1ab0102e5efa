"""`/users/{id}/documents`: create, replace, no-op, batch, list, get, delete — and bad input."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.models import Chunk, Document
from pgsearch.schemas import DocumentCreate
from pgsearch.services.documents import store_documents
from tests.helpers import DIM, make_user, run_concurrently, unit, vec_doc


def counts() -> tuple[int, int]:
    with db.get_sessionmaker()() as s:
        docs = s.scalar(select(func.count()).select_from(Document)) or 0
        chunks = s.scalar(select(func.count()).select_from(Chunk)) or 0
        return docs, chunks


def test_create_with_builtin_embedding(client: TestClient) -> None:
    uid = make_user(client)
    text = "PostgreSQL is an object-relational database. " * 60
    r = client.post(f"/users/{uid}/documents", json={"text": text, "metadata": {"lang": "en"}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["chunk_count"] > 1
    assert body["metadata"] == {"lang": "en"}
    assert body["external_id"] is None
    detail = client.get(f"/users/{uid}/documents/{body['id']}").json()
    assert detail["text"] == text
    assert counts() == (1, body["chunk_count"])


def test_replace_and_noop_by_external_id(client: TestClient) -> None:
    uid = make_user(client)
    first = client.post(f"/users/{uid}/documents", json={"text": "one", "external_id": "a"})
    assert first.status_code == 201
    same = client.post(f"/users/{uid}/documents", json={"text": "one", "external_id": "a"})
    assert same.status_code == 200
    assert same.json()["updated_at"] == first.json()["updated_at"]  # a no-op writes nothing
    meta = client.post(
        f"/users/{uid}/documents", json={"text": "one", "external_id": "a", "metadata": {"v": 2}}
    )
    assert meta.status_code == 200 and meta.json()["metadata"] == {"v": 2}
    changed = client.post(f"/users/{uid}/documents", json={"text": "two", "external_id": "a"})
    assert changed.status_code == 200
    assert changed.json()["id"] == first.json()["id"]
    assert client.get(f"/users/{uid}/documents/{first.json()['id']}").json()["text"] == "two"
    assert counts() == (1, 1)


def test_unchanged_content_is_not_embedded_again(client: TestClient) -> None:
    uid = make_user(client)
    doc = {"text": "same words", "external_id": "x"}
    client.post(f"/users/{uid}/documents", json=doc)
    from pgsearch.embedding import get_embedder

    embedder = get_embedder("minilm")
    calls: list[int] = []
    original = embedder.embed

    def counting(texts: Any) -> Any:
        calls.append(len(texts))
        return original(texts)

    embedder.embed = counting  # type: ignore[method-assign]
    try:
        assert client.post(f"/users/{uid}/documents", json=doc).status_code == 200
        r = client.post(f"/users/{uid}/documents/batch", json={"documents": [doc, {"text": "new"}]})
        assert r.json()["unchanged"] == 1 and r.json()["inserted"] == 1
    finally:
        del embedder.embed
    assert calls == [1]  # only the new document's single chunk


def test_client_vectors(client: TestClient) -> None:
    uid = make_user(client)
    r = client.post(f"/users/{uid}/documents", json=vec_doc("hello", unit(0), external_id="h"))
    assert r.status_code == 201 and r.json()["chunk_count"] == 1


def test_batch_counts_and_all_or_nothing(client: TestClient) -> None:
    uid = make_user(client)
    docs = [vec_doc(f"doc {i}", unit(i), external_id=f"e{i}") for i in range(5)]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    assert r.status_code == 200
    assert (r.json()["inserted"], r.json()["updated"], r.json()["unchanged"]) == (5, 0, 0)
    docs[0] = vec_doc("changed", unit(9), external_id="e0")
    docs.append(vec_doc("new", unit(10), external_id="e5"))
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    assert (r.json()["inserted"], r.json()["updated"], r.json()["unchanged"]) == (1, 1, 4)
    before = counts()
    bad = [vec_doc("fine", unit(1), external_id="f1"), vec_doc("bad", [1.0, 2.0], external_id="f2")]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": bad})
    assert r.status_code == 422
    assert r.json()["detail"] == "documents[1].chunks[0].embedding has 2 dimensions, expected 384"
    assert counts() == before


def test_batch_limit_and_duplicates(client: TestClient) -> None:
    uid = make_user(client)
    too_many = [{"text": "x"}] * 1001
    assert (
        client.post(f"/users/{uid}/documents/batch", json={"documents": too_many}).status_code
        == 422
    )
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": []}).status_code == 422
    dup = [vec_doc("a", unit(1), external_id="same"), vec_doc("b", unit(2), external_id="same")]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": dup})
    assert r.status_code == 422 and "already appears" in r.json()["detail"]
    assert counts() == (0, 0)


def test_batch_of_1000(client: TestClient) -> None:
    uid = make_user(client)
    docs = [vec_doc(f"d{i}", unit(i % DIM, (i * 7) % DIM), external_id=str(i)) for i in range(1000)]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["inserted"] == 1000
    assert counts() == (1000, 1000)


def test_list_pagination_and_filter(client: TestClient) -> None:
    uid = make_user(client)
    docs = [vec_doc(f"d{i}", unit(i), metadata={"even": i % 2 == 0}) for i in range(5)]
    client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    page = client.get(f"/users/{uid}/documents", params={"limit": 2}).json()
    assert len(page["documents"]) == 2 and page["next_cursor"] is not None
    seen = [d["id"] for d in page["documents"]]
    while page["next_cursor"] is not None:
        page = client.get(
            f"/users/{uid}/documents", params={"limit": 2, "after": page["next_cursor"]}
        ).json()
        seen += [d["id"] for d in page["documents"]]
    assert len(seen) == len(set(seen)) == 5
    evens = client.get(f"/users/{uid}/documents", params={"filter": '{"even": true}'}).json()
    assert len(evens["documents"]) == 3


def test_delete_one_and_by_filter(client: TestClient) -> None:
    uid = make_user(client)
    docs = [
        vec_doc(f"d{i}", unit(i), metadata={"src": "old" if i < 3 else "new"}) for i in range(5)
    ]
    ids = [
        d["id"]
        for d in client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).json()[
            "documents"
        ]
    ]
    assert client.delete(f"/users/{uid}/documents/{ids[4]}").status_code == 204
    assert client.get(f"/users/{uid}/documents/{ids[4]}").status_code == 404
    r = client.post(f"/users/{uid}/documents/delete", json={"filter": {"src": "old"}})
    assert r.json() == {"deleted": 3}
    assert counts() == (1, 1)


def test_deleting_user_deletes_documents(client: TestClient) -> None:
    uid = make_user(client)
    client.post(f"/users/{uid}/documents", json=vec_doc("x", unit(1)))
    assert client.delete(f"/users/{uid}").status_code == 204
    assert counts() == (0, 0)


def test_other_users_document_is_404(client: TestClient) -> None:
    alice, bob = make_user(client, "alice"), make_user(client, "bob")
    doc_id = client.post(f"/users/{alice}/documents", json=vec_doc("secret", unit(1))).json()["id"]
    assert client.get(f"/users/{bob}/documents/{doc_id}").status_code == 404
    assert client.get(f"/users/{bob}/documents/{doc_id}").json() == {
        "detail": f"document {doc_id} not found"
    }
    assert client.delete(f"/users/{bob}/documents/{doc_id}").status_code == 404
    assert client.get(f"/users/{alice}/documents/{doc_id}").status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"text": ""}, "at least 1 character"),
        ({"text": "   "}, "blank"),
        ({"text": "x" * 1_000_001}, "at most 1000000"),
        ({"text": "a\x00b"}, "NUL"),
        ({"text": "x", "metadata": [1, 2]}, "dictionary"),
        ({"text": "x", "metadata": "tags"}, "dictionary"),
        ({"text": "x", "metadata": {"k": "a\x00"}}, "NUL"),
        ({"text": "x", "metadata": {"big": "x" * 70_000}}, "larger than"),
        ({"text": "x", "external_id": ""}, "at least 1 character"),
        ({"text": "x", "external_id": "e" * 513}, "at most 512"),
        ({"text": "x", "chunks": []}, "at least 1 item"),
        (
            {"text": "x", "chunks": [{"text": "x", "embedding": [1, 2, 3]}]},
            "has 3 dimensions, expected 384",
        ),
        ({"text": "x", "chunks": [{"text": "x", "embedding": ["a"] * DIM}]}, "valid number"),
        ({"text": "x", "chunks": [{"text": "x", "embedding": ["0.5"] * DIM}]}, "valid number"),
        ({"text": "x", "chunks": [{"text": "x", "embedding": [0.0] * DIM}]}, "all zeros"),
        ({"text": "x", "chunks": [{"text": "x", "embedding": [1e39] * DIM}]}, "32-bit"),
        ({"text": "x", "unknown": 1}, "Extra inputs"),
        ({}, "Field required"),
    ],
)
def test_bad_documents(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    uid = make_user(client)
    r = client.post(f"/users/{uid}/documents", json=body)
    assert r.status_code == 422, r.text[:300]
    assert fragment in r.text
    assert counts() == (0, 0)


def test_nan_and_infinity_in_vectors(client: TestClient) -> None:
    uid = make_user(client)
    for token in ("NaN", "Infinity", "-Infinity"):
        values = token + ", 1.0" * (DIM - 1)
        raw = '{"text": "x", "chunks": [{"text": "x", "embedding": [' + values + "]}]}"
        r = client.post(
            f"/users/{uid}/documents", content=raw, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, (token, r.text[:200])
    assert counts() == (0, 0)


def test_unknown_user_is_404(client: TestClient) -> None:
    r = client.post("/users/999/documents", json={"text": "x"})
    assert r.status_code == 404 and r.json() == {"detail": "user 999 not found"}
    assert (
        client.post("/users/999/documents/batch", json={"documents": [{"text": "x"}]}).status_code
        == 404
    )
    assert client.get("/users/999/documents").status_code == 404
    assert client.get("/users/999/documents/1").status_code == 404
    assert client.post("/users/999/documents/delete", json={"filter": {"a": 1}}).status_code == 404


@pytest.mark.parametrize(
    "raw", ['{"a": {"$gtt": 1}}', "not json", "[1, 2]", '{"$and": []}', '{"a": {"$in": "x"}}']
)
def test_bad_list_filters(client: TestClient, raw: str) -> None:
    uid = make_user(client)
    r = client.get(f"/users/{uid}/documents", params={"filter": raw})
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_delete_by_filter_needs_a_filter(client: TestClient) -> None:
    uid = make_user(client)
    assert client.post(f"/users/{uid}/documents/delete", json={"filter": {}}).status_code == 422
    assert client.post(f"/users/{uid}/documents/delete", json={}).status_code == 422


def test_concurrent_writers_same_external_id(pg_config: DatabaseConfig, client: TestClient) -> None:
    uid = client.post("/users", json={"name": "racer"}).json()["id"]
    embedder = get_embedder("minilm")
    barrier = threading.Barrier(6)

    def writer(w: int) -> None:
        barrier.wait()
        for i in range(8):
            n = 1 + (w + i) % 3  # different texts → different chunk counts
            doc = DocumentCreate(
                text=f"writer {w} version {i}",
                external_id="shared",
                chunks=[
                    {"text": f"w{w} v{i} c{j}", "embedding": unit(w, j + 10)} for j in range(n)
                ],
            )
            with db.get_sessionmaker().begin() as session:
                store_documents(session, user_id=uid, docs=[doc], embedder=embedder, dim=DIM)

    assert run_concurrently(writer, 6) == []
    with db.get_sessionmaker()() as s:
        docs = s.scalars(select(Document).where(Document.external_id == "shared")).all()
        assert len(docs) == 1
        chunks = s.scalars(
            select(Chunk.text).where(Chunk.document_id == docs[0].id).order_by(Chunk.chunk_index)
        ).all()
    # The stored chunks belong to the stored version: no mix of two writers' updates.
    w, v = docs[0].text.split()[1], docs[0].text.split()[3]
    assert len(chunks) == docs[0].chunk_count
    assert all(c.startswith(f"w{w} v{v} ") for c in chunks)
