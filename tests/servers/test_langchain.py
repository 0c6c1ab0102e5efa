"""`pgsearch.langchain` against a real `pgsearch serve`: langchain-tests' standard
`VectorStoreIntegrationTests` (unmodified), then what the suite does not cover."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from pgsearch.client import Client, UnprocessableEntity
from pgsearch.langchain import PgsearchEmbeddings, PgsearchVectorStore
from tests.conftest import Serve
from tests.helpers import DIM


class TestServerEmbedded(VectorStoreIntegrationTests):
    """The store as most will use it: the server chunks and embeds."""

    @pytest.fixture
    def vectorstore(self, pg: Client, pg_user: int) -> VectorStore:
        return PgsearchVectorStore(pg, user_id=pg_user)


class TestWithPgsearchEmbeddings(VectorStoreIntegrationTests):
    """The store with an `Embeddings` object: vectors made by the client's embedding (the
    service's `/v1/embeddings`), stored as given."""

    @pytest.fixture
    def vectorstore(self, pg: Client, pg_user: int) -> VectorStore:
        return PgsearchVectorStore(pg, user_id=pg_user, embedding=PgsearchEmbeddings(pg))


# -- beyond the standard suite ----------------------------------------------------------------


def corpus(store: PgsearchVectorStore) -> list[str]:
    return store.add_texts(
        [
            "PostgreSQL is a relational database.",
            "Bananas are a yellow fruit.",
            "PostgreSQL ist eine relationale Datenbank.",
        ],
        metadatas=[{"lang": "en"}, {"lang": "en", "kind": "food"}, {"lang": "de"}],
        ids=["pg-en", "banana", "pg-de"],
    )


def test_filter_mode_and_scores(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    corpus(store)
    german = store.similarity_search("database", k=3, filter={"lang": "de"})
    assert [d.id for d in german] == ["pg-de"]
    scored = store.similarity_search_with_score("yellow fruit", k=3)
    assert scored[0][0].id == "banana"
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)
    assert 0.5 < scored[0][1] <= 1.0  # cosine similarity
    keyword = store.similarity_search("bananas", k=3, mode="keyword")
    assert [d.id for d in keyword] == ["banana"]
    relevance = store.similarity_search_with_relevance_scores("relational database", k=1)
    assert relevance[0][0].id in {"pg-en", "pg-de"} and 0 < relevance[0][1] <= 1


def test_retriever_with_filter_and_mode(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    corpus(store)
    retriever = store.as_retriever(
        search_kwargs={"k": 2, "mode": "hybrid", "filter": {"lang": "en"}}
    )
    found = retriever.invoke("relational database")
    assert [d.id for d in found] == ["pg-en", "banana"]
    assert found[0].metadata == {"lang": "en"}


async def test_async_retriever(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user, mode="hybrid")
    await store.aadd_texts(["PostgreSQL stores rows.", "Apples are red."], ids=["a", "b"])
    retriever = store.as_retriever(search_kwargs={"k": 1})
    assert [d.id for d in await retriever.ainvoke("apples")] == ["b"]
    assert [d.id for d in await store.asimilarity_search("rows", k=1, mode="keyword")] == ["a"]


def test_search_by_vector(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    corpus(store)
    vector = store.embeddings.embed_query("a fruit that is yellow")
    assert len(vector) == DIM
    assert store.similarity_search_by_vector(vector, k=1)[0].id == "banana"


def test_delete_by_filter(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    corpus(store)
    assert store.delete(filter={"lang": "en"})
    assert [d.id for d in store.get_by_ids(["pg-en", "banana", "pg-de"])] == ["pg-de"]
    with pytest.raises(ValueError, match="needs `ids` or `filter=`"):
        store.delete()


def test_long_texts_are_chunked_by_the_server(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    long = " ".join(f"Sentence {i} is about nothing much." for i in range(200))
    long += " The secret word is aubergine."
    store.add_texts([long], ids=["long"])
    [hit] = store.similarity_search("aubergine", k=1, mode="keyword")
    assert hit.id == "long" and "aubergine" in hit.page_content
    assert len(hit.page_content) < len(long)  # the matching chunk
    assert store.get_by_ids(["long"])[0].page_content == long  # the whole text


def test_repeated_ids_in_one_call_keep_the_last(pg: Client, pg_user: int) -> None:
    store = PgsearchVectorStore(pg, user_id=pg_user)
    assert store.add_texts(["one", "two"], ids=["x", "x"]) == ["x", "x"]
    assert [d.page_content for d in store.get_by_ids(["x"])] == ["two"]


def test_from_texts(pgsearch_serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSEARCH_URL", pgsearch_serve.url)
    monkeypatch.setenv("PGSEARCH_API_KEY", pgsearch_serve.admin_key)
    store = PgsearchVectorStore.from_texts(
        ["PostgreSQL is a database.", "Tea is a drink."],
        PgsearchEmbeddings(),
        metadatas=[{"n": 1}, {"n": 2}],
        ids=["db", "tea"],
        user_name="from-texts",
    )
    try:
        assert store.similarity_search("drink", k=1) == [
            Document(id="tea", page_content="Tea is a drink.", metadata={"n": 2})
        ]
    finally:
        store.client.delete_user(store.user_id)


def test_an_embedding_of_another_dimension_is_a_clear_error(pg: Client, pg_user: int) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    store = PgsearchVectorStore(pg, user_id=pg_user, embedding=DeterministicFakeEmbedding(size=6))
    with pytest.raises(UnprocessableEntity, match=f"has 6 dimensions, expected {DIM}"):
        store.add_texts(["x"])
