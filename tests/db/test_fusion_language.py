"""Hybrid search leans on keywords when the model was not trained on the query's language.

The documents carry their own vectors, made so that the model's ranking is the keyword
ranking upside down: the model's favourite (`near`) matches the query's words a little less
well than the best keyword match (`best`). Leaning on the model puts `near` first; leaning on
keywords, `best`.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pgsearch.embedding import for_queries, get_embedder
from tests.helpers import make_user, vec_doc

GERMAN = {
    "best": "Leeren der Konsole.",
    "near": "Leeren der Konsole und vieler anderer Dinge auf dem Rechner des Benutzers.",
    "far": "Die Konsole.",
}
ENGLISH = {
    "best": "Clearing the console.",
    "near": "Clearing the console and many other things on the computer of the user.",
    "far": "The console.",
}


def store(client: TestClient, uid: int, docs: dict[str, str], query: str, language: str) -> None:
    toward = for_queries(get_embedder("minilm")).embed([query])[0]
    body = {
        "documents": [
            vec_doc(
                text,
                [float(x) for x in (toward if key == "near" else -toward)],
                external_id=f"{language}:{key}",
                language=language,
            )
            for key, text in docs.items()
        ]
    }
    r = client.post(f"/users/{uid}/documents/batch", json=body)
    assert r.status_code == 200, r.text


def first(client: TestClient, uid: int, query: str, mode: str, **extra: Any) -> str:
    r = client.post(f"/users/{uid}/search", json={"query": query, "mode": mode, **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["results"][0]["external_id"])


@pytest.mark.parametrize(
    ("mixed", "query"),
    [
        # Too short for the detector (German at 0.32): the language of the user's documents.
        (False, "Konsole leeren"),
        # Documents in two languages: the query's detected language (German at 0.96).
        (True, "Leeren der Konsole"),
    ],
    ids=["german documents", "german and english documents"],
)
def test_german_query_with_english_model_leans_on_keywords(
    client: TestClient, mixed: bool, query: str
) -> None:
    uid = make_user(client)
    store(client, uid, GERMAN, query, "de")
    if mixed:
        store(client, uid, ENGLISH, "clearing the console", "en")
    assert first(client, uid, query, "semantic") == "de:near"
    assert first(client, uid, query, "keyword") == "de:best"
    assert first(client, uid, query, "hybrid") == "de:best"


def test_english_query_keeps_leaning_on_the_model(client: TestClient) -> None:
    uid = make_user(client)
    query = "clearing the console"
    store(client, uid, ENGLISH, query, "en")
    store(client, uid, GERMAN, "Leeren der Konsole", "de")
    assert first(client, uid, query, "keyword") == "en:best"
    assert first(client, uid, query, "hybrid") == "en:near"
    # The request's language outweighs the documents' and the query's.
    assert first(client, uid, query, "hybrid", language="de") == "en:best"
