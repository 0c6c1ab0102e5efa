"""LangChain integration (`pip install pgsearch[langchain]`): a `VectorStore` over one pgsearch
user's documents, and `Embeddings` from a server's `POST /v1/embeddings`.

    from pgsearch.langchain import PgsearchVectorStore

    store = PgsearchVectorStore(user_id=1)  # PGSEARCH_URL / PGSEARCH_API_KEY
    store.add_texts(["PostgreSQL is a database."], ids=["pg"])
    store.as_retriever(search_kwargs={"k": 3, "mode": "hybrid"}).invoke("which database?")

LangChain ids are pgsearch's `external_id`s. Without an `embedding`, the server chunks and
embeds the texts with its built-in model; with one, each text is stored as one chunk with the
vector it gives (which must have the server's dimension), and queries are embedded with it too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from pgsearch.client import AsyncClient, Client
from pgsearch.schemas import DocumentDetail, SearchHit, SearchMode

__all__ = ["PgsearchEmbeddings", "PgsearchVectorStore"]


class _Clients:
    """A `Client`, and an `AsyncClient` for the running event loop (an httpx async client's
    connections belong to the loop they were made in)."""

    def __init__(
        self,
        client: Client | None,
        async_client: AsyncClient | None,
        base_url: str | None,
        api_key: str | None,
    ) -> None:
        self.sync = client or Client(base_url, api_key)
        self._given_async = async_client
        self._loop_async: tuple[asyncio.AbstractEventLoop, AsyncClient] | None = None
        self._base_url = self.sync.base_url
        auth = self.sync.http.headers.get("authorization")
        self._headers = {"Authorization": auth} if auth else {}

    @property
    def async_(self) -> AsyncClient:
        if self._given_async is not None:
            return self._given_async
        loop = asyncio.get_running_loop()
        if self._loop_async is None or self._loop_async[0] is not loop:
            made = AsyncClient(self._base_url, api_key="")
            made.http.headers.update(self._headers)
            self._loop_async = (loop, made)
        return self._loop_async[1]


class PgsearchEmbeddings(Embeddings):
    """Embeddings from a pgsearch server's built-in model (`POST /v1/embeddings`).

    Give a `Client` (and optionally an `AsyncClient`), or `base_url` / `api_key` (default:
    `PGSEARCH_URL` / `PGSEARCH_API_KEY`). `model` is checked by the server when given.
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        async_client: AsyncClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
    ) -> None:
        self._clients = _Clients(client, async_client, base_url, api_key)
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of `texts`, in order."""
        return self._clients.sync.embed(texts, model=self.model) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return self._clients.sync.embed([text], model=self.model)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of `texts`, in order."""
        return await self._clients.async_.embed(texts, model=self.model) if texts else []

    async def aembed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return (await self._clients.async_.embed([text], model=self.model))[0]


def _to_document(found: SearchHit | DocumentDetail) -> Document:
    return Document(id=found.external_id, page_content=found.text, metadata=found.metadata)


def _deletions(ids: list[str] | None, kwargs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The `delete_documents` arguments of `delete(ids, filter=...)`: the ids, then the filter."""
    filter = kwargs.get("filter")
    if ids is None and filter is None:
        raise ValueError(f"{name}() needs `ids` or `filter=`")
    calls: list[dict[str, Any]] = []
    if ids:
        calls.append({"external_ids": ids})
    if filter is not None:
        calls.append({"filter": filter})
    return calls


def _prepare(
    texts: Iterable[str],
    metadatas: Sequence[Mapping[str, Any]] | None,
    ids: Sequence[str | None] | None,
) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """Texts, metadata and ids (new uuid4s where missing), checked for equal lengths."""
    texts = list(texts)
    if metadatas is not None and len(metadatas) != len(texts):
        raise ValueError(f"got {len(metadatas)} metadatas for {len(texts)} texts")
    if ids is not None and len(ids) != len(texts):
        raise ValueError(f"got {len(ids)} ids for {len(texts)} texts")
    metas = [dict(m) for m in metadatas] if metadatas is not None else [{} for _ in texts]
    given = ids if ids is not None else [None] * len(texts)
    return texts, metas, [i if i else str(uuid.uuid4()) for i in given]


def _documents(
    texts: list[str], metas: list[dict[str, Any]], ids: list[str], vectors: list[list[float]] | None
) -> list[dict[str, Any]]:
    """Batch entries; a repeated id keeps its last text, as if added one after the other."""
    last = {external_id: i for i, external_id in enumerate(ids)}
    docs = []
    for i, (text, meta, external_id) in enumerate(zip(texts, metas, ids, strict=True)):
        if last[external_id] != i:
            continue
        doc: dict[str, Any] = {"text": text, "metadata": meta, "external_id": external_id}
        if vectors is not None:
            doc["chunks"] = [{"text": text, "embedding": vectors[i]}]
        docs.append(doc)
    return docs


class PgsearchVectorStore(VectorStore):
    """The documents of one pgsearch user as a LangChain `VectorStore`.

    `mode` is the default search mode (`semantic`, `hybrid` or `keyword`); every search also
    takes `mode=` and a metadata `filter=` (pgsearch's filter language). Scores are pgsearch's:
    cosine similarity for `semantic`, the fused score in [0, 1] for `hybrid`, BM25 for
    `keyword`.
    """

    def __init__(
        self,
        client: Client | None = None,
        *,
        user_id: int,
        embedding: Embeddings | None = None,
        async_client: AsyncClient | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: SearchMode = "semantic",
    ) -> None:
        self._clients = _Clients(client, async_client, base_url, api_key)
        self.user_id = user_id
        self.mode: SearchMode = mode
        self._embedding = embedding

    @property
    def client(self) -> Client:
        """The blocking client the store uses."""
        return self._clients.sync

    @property
    def embeddings(self) -> Embeddings:
        """The embedding the store uses: the one given, else the server's model."""
        if self._embedding is not None:
            return self._embedding
        return PgsearchEmbeddings(self._clients.sync, async_client=self._clients._given_async)

    # -- writing ----------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Store texts (an existing id is replaced); their ids, in order."""
        texts_, metas, ids_ = _prepare(texts, metadatas, ids)
        if not texts_:
            return []
        vectors = self._embedding.embed_documents(texts_) if self._embedding else None
        self._clients.sync.create_documents(self.user_id, _documents(texts_, metas, ids_, vectors))
        return ids_

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Store texts (an existing id is replaced); their ids, in order."""
        texts_, metas, ids_ = _prepare(texts, metadatas, ids)
        if not texts_:
            return []
        vectors = await self._embedding.aembed_documents(texts_) if self._embedding else None
        docs = _documents(texts_, metas, ids_, vectors)
        await self._clients.async_.create_documents(self.user_id, docs)
        return ids_

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents with these ids (unknown ids are ignored), or with `filter=`."""
        for call in _deletions(ids, kwargs, "delete"):
            self._clients.sync.delete_documents(self.user_id, **call)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents with these ids (unknown ids are ignored), or with `filter=`."""
        for call in _deletions(ids, kwargs, "adelete"):
            await self._clients.async_.delete_documents(self.user_id, **call)
        return True

    # -- reading ----------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents with these ids (whole texts), in that order; unknown ids are left out."""
        found = self._clients.sync.get_documents(self.user_id, list(ids)) if ids else []
        return [_to_document(d) for d in found]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents with these ids (whole texts), in that order; unknown ids are left out."""
        found = await self._clients.async_.get_documents(self.user_id, list(ids)) if ids else []
        return [_to_document(d) for d in found]

    def _search_args(
        self, query: str | None, vector: list[float] | None, k: int, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        mode: SearchMode = kwargs.get("mode") or self.mode
        return {
            "query": None if mode == "semantic" and vector is not None else query,
            "vector": vector if mode != "keyword" else None,
            "k": k,
            "mode": mode,
            "filter": kwargs.get("filter"),
        }

    def _query_embedding(self, kwargs: dict[str, Any]) -> Embeddings | None:
        """The embedding that makes the query's vector (None: the server embeds the query)."""
        return self._embedding if (kwargs.get("mode") or self.mode) != "keyword" else None

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The best `k` documents for `query` and their scores, best first (`filter=`,
        `mode=`)."""
        embedding = self._query_embedding(kwargs)
        vector = embedding.embed_query(query) if embedding is not None else None
        return self._search(self._search_args(query, vector, k, kwargs))

    def _search(self, args: dict[str, Any]) -> list[tuple[Document, float]]:
        hits = self._clients.sync.search(self.user_id, **args).results
        return [(_to_document(h), h.score) for h in hits]

    async def _asearch(self, args: dict[str, Any]) -> list[tuple[Document, float]]:
        hits = (await self._clients.async_.search(self.user_id, **args)).results
        return [(_to_document(h), h.score) for h in hits]

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The best `k` documents for `query`, best first (`filter=`, `mode=`)."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The `k` documents nearest to a vector (`filter=`)."""
        args = self._search_args(None, embedding, k, {**kwargs, "mode": "semantic"})
        return [doc for doc, _ in self._search(args)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The best `k` documents for `query` and their scores, best first."""
        embedding = self._query_embedding(kwargs)
        vector = await embedding.aembed_query(query) if embedding is not None else None
        return await self._asearch(self._search_args(query, vector, k, kwargs))

    async def asimilarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The best `k` documents for `query`, best first."""
        scored = await self.asimilarity_search_with_score(query, k, **kwargs)
        return [doc for doc, _ in scored]

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The `k` documents nearest to a vector."""
        args = self._search_args(None, embedding, k, {**kwargs, "mode": "semantic"})
        return [doc for doc, _ in await self._asearch(args)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # Semantic scores are cosine similarities (1 - cosine distance), hybrid ones are in
        # [0, 1] already: both are relevance scores as they are.
        return lambda score: score

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> PgsearchVectorStore:
        """A store for `user_id=` (or a new user named `user_name=`) holding `texts`.

        `embedding=None` (or a `PgsearchEmbeddings`) lets the server embed.
        """
        store = cls._made(embedding, kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> PgsearchVectorStore:
        """`from_texts`, storing with the async client."""
        store = cls._made(embedding, kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def _made(cls, embedding: Embeddings | None, kwargs: dict[str, Any]) -> PgsearchVectorStore:
        user_name = kwargs.pop("user_name", None)
        if isinstance(embedding, PgsearchEmbeddings):
            embedding = None  # the server embeds the same way, without a round trip
        if "user_id" not in kwargs:
            if user_name is None:
                raise TypeError("from_texts() needs `user_id=` or `user_name=`")
            clients = _Clients(
                kwargs.get("client"), None, kwargs.get("base_url"), kwargs.get("api_key")
            )
            kwargs["client"] = clients.sync
            kwargs["user_id"] = clients.sync.create_user(user_name).id
        return cls(embedding=embedding, **kwargs)
