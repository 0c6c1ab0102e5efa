"""Python client for a pgsearch server: `Client` (blocking) and `AsyncClient`, on httpx.

Answers are the service's own schemas (`pgsearch.schemas`); errors are `PgsearchHTTPError`s that
carry the server's status and message. Only the schemas are imported, not the server.

    from pgsearch.client import Client

    with Client("http://127.0.0.1:8000", api_key=None) as pg:
        user = pg.create_user("ada")
        pg.create_documents(user.id, [{"text": "PostgreSQL is a database."}])
        hits = pg.search(user.id, "which database?").results
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter

from pgsearch.schemas import (
    MAX_BATCH_DOCUMENTS,
    MAX_EMBEDDING_INPUTS,
    ApiKeyCreated,
    ApiKeyRead,
    BatchResult,
    DeleteResult,
    DocumentCreate,
    DocumentDetail,
    DocumentDetails,
    DocumentPage,
    DocumentRead,
    EmbeddingResponse,
    Health,
    SearchMode,
    SearchResponse,
    UploadedDocument,
    UploadError,
    UploadResult,
    UserRead,
)

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "PgsearchClientError",
    "PgsearchConnectionError",
    "PgsearchHTTPError",
    "ServiceUnavailable",
    "Unauthorized",
    "UnprocessableEntity",
    "UploadError",
    "UploadResult",
    "UploadedDocument",
]

DEFAULT_URL = "http://127.0.0.1:8000"
# A batch's JSON is kept under this many bytes (the server's default body limit is 32 MiB);
# a smaller server limit is found by its 413 and the batch halved.
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024

T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)


# -- errors -----------------------------------------------------------------------------------


class PgsearchClientError(Exception):
    """Base of every error this client raises."""


class PgsearchConnectionError(PgsearchClientError):
    """The server could not be reached (or did not answer in time)."""


class PgsearchHTTPError(PgsearchClientError):
    """The server answered with an error: `status_code` and its `detail` (a message, or for
    validation errors the list of problems)."""

    def __init__(self, status_code: int, detail: Any, *, response: httpx.Response) -> None:
        self.status_code = status_code
        self.detail = detail
        self.response = response
        super().__init__(f"{status_code}: {_describe(detail)}")

    @property
    def message(self) -> str:
        """The server's message on one line."""
        return _describe(self.detail)


class BadRequest(PgsearchHTTPError):
    """400: the request could not be read."""


class Unauthorized(PgsearchHTTPError):
    """401: no API key, or one the server does not know (or revoked)."""


class Forbidden(PgsearchHTTPError):
    """403: the key may not do this (an admin-only endpoint)."""


class NotFound(PgsearchHTTPError):
    """404: no such user or document (or another user's)."""


class Conflict(PgsearchHTTPError):
    """409: conflicts with the server's state or configuration."""


class PayloadTooLarge(PgsearchHTTPError):
    """413: the request body is over the server's limit."""


class UnprocessableEntity(PgsearchHTTPError):
    """422: invalid input; the message says what to fix."""


class ServiceUnavailable(PgsearchHTTPError):
    """503: the database is down or busy (raised once the retries are used up)."""


_BY_STATUS: dict[int, type[PgsearchHTTPError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: UnprocessableEntity,
    503: ServiceUnavailable,
}


def _describe(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                where = ".".join(str(p) for p in item.get("loc", []))
                parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, Mapping) else body
    except ValueError:
        detail = response.text or response.reason_phrase
    cls = _BY_STATUS.get(response.status_code, PgsearchHTTPError)
    raise cls(response.status_code, detail, response=response)


FileSpec = str | os.PathLike[str] | tuple[str, bytes | IO[bytes]]


# -- requests, shared by both clients ---------------------------------------------------------


@dataclass
class _Request(Generic[T]):
    """One API call: what to send, and how to read a successful answer."""

    method: str
    path: str
    parse: TypeAdapter[T] | None
    json: Any = None
    params: Mapping[str, Any] | None = None
    files: list[tuple[str, tuple[str, Any]]] | None = None
    data: Mapping[str, str] | None = None

    def read(self, response: httpx.Response) -> T:
        _raise_for_status(response)
        if self.parse is None:
            return None  # type: ignore[return-value]
        # DocumentRead reads `metadata` by its field name (its alias is the ORM's `meta`).
        return self.parse.validate_json(response.content, by_name=True)


_USER = TypeAdapter(UserRead)
_USERS = TypeAdapter(list[UserRead])
_DOCUMENT = TypeAdapter(DocumentRead)
_DETAIL = TypeAdapter(DocumentDetail)
_DETAILS = TypeAdapter(DocumentDetails)
_PAGE = TypeAdapter(DocumentPage)
_BATCH = TypeAdapter(BatchResult)
_DELETED = TypeAdapter(DeleteResult)
_SEARCH = TypeAdapter(SearchResponse)
_KEY_CREATED = TypeAdapter(ApiKeyCreated)
_KEY = TypeAdapter(ApiKeyRead)
_KEYS = TypeAdapter(list[ApiKeyRead])
_HEALTH = TypeAdapter(Health)
_EMBEDDINGS = TypeAdapter(EmbeddingResponse)
_UPLOAD = TypeAdapter(UploadResult)


def _document_json(doc: DocumentCreate | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(doc, DocumentCreate):
        return doc.model_dump(mode="json", exclude_none=True)
    return dict(doc)


def _batches(
    docs: Iterable[dict[str, Any]], *, max_count: int, max_bytes: int
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches of at most `max_count` documents and about `max_bytes` of JSON."""
    batch: list[dict[str, Any]] = []
    size = 0
    for doc in docs:
        doc_size = len(json.dumps(doc, ensure_ascii=False).encode()) + 1
        if batch and (len(batch) >= max_count or size + doc_size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += doc_size
    if batch:
        yield batch


def _merge(results: Sequence[BatchResult]) -> BatchResult:
    return BatchResult(
        inserted=sum(r.inserted for r in results),
        updated=sum(r.updated for r in results),
        unchanged=sum(r.unchanged for r in results),
        documents=[d for r in results for d in r.documents],
    )


def _batch_limit_from(openapi: Any) -> int:
    """`DocumentBatch.documents.maxItems` of the server's OpenAPI document."""
    try:
        limit = openapi["components"]["schemas"]["DocumentBatch"]["properties"]["documents"][
            "maxItems"
        ]
        return int(limit) if int(limit) >= 1 else MAX_BATCH_DOCUMENTS
    except (KeyError, TypeError, ValueError):
        return MAX_BATCH_DOCUMENTS


def _retry_after(response: httpx.Response, *, attempt: int, cap: float) -> float:
    """Seconds to wait before retrying a 503: its `Retry-After` (seconds or a date), else
    an exponential backoff; never more than `cap`."""
    value = response.headers.get("retry-after", "").strip()
    wait: float | None = None
    if value:
        try:
            wait = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                wait = (when - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                wait = None
    if wait is None:
        wait = 0.5 * 2**attempt
    return min(max(wait, 0.0), cap)


def _file_parts(files: Iterable[FileSpec]) -> list[tuple[str, tuple[str, Any]]]:
    parts: list[tuple[str, tuple[str, Any]]] = []
    for spec in files:
        if isinstance(spec, tuple):
            name, content = spec
            parts.append(("files", (name, content)))
        else:
            path = Path(spec)
            parts.append(("files", (path.name, path.read_bytes())))
    return parts


def _settings(base_url: str | None, api_key: str | None) -> tuple[str, dict[str, str]]:
    url = base_url or os.environ.get("PGSEARCH_URL") or DEFAULT_URL
    key = api_key if api_key is not None else os.environ.get("PGSEARCH_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return url.rstrip("/"), headers


class _Calls:
    """The API's calls as `_Request`s (no I/O), shared by `Client` and `AsyncClient`."""

    @staticmethod
    def health() -> _Request[Health]:
        return _Request("GET", "/health", _HEALTH)

    @staticmethod
    def create_user(name: str) -> _Request[UserRead]:
        return _Request("POST", "/users", _USER, json={"name": name})

    @staticmethod
    def get_user(user_id: int) -> _Request[UserRead]:
        return _Request("GET", f"/users/{user_id}", _USER)

    @staticmethod
    def list_users(limit: int, offset: int) -> _Request[list[UserRead]]:
        return _Request("GET", "/users", _USERS, params={"limit": limit, "offset": offset})

    @staticmethod
    def update_user(user_id: int, name: str) -> _Request[UserRead]:
        return _Request("PATCH", f"/users/{user_id}", _USER, json={"name": name})

    @staticmethod
    def delete_user(user_id: int) -> _Request[None]:
        return _Request("DELETE", f"/users/{user_id}", None)

    @staticmethod
    def create_document(
        user_id: int,
        text: str,
        metadata: Mapping[str, Any] | None,
        external_id: str | None,
        chunks: Sequence[Mapping[str, Any]] | None,
    ) -> _Request[DocumentRead]:
        body: dict[str, Any] = {"text": text}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if external_id is not None:
            body["external_id"] = external_id
        if chunks is not None:
            body["chunks"] = [dict(c) for c in chunks]
        return _Request("POST", f"/users/{user_id}/documents", _DOCUMENT, json=body)

    @staticmethod
    def batch(user_id: int, docs: list[dict[str, Any]]) -> _Request[BatchResult]:
        return _Request(
            "POST", f"/users/{user_id}/documents/batch", _BATCH, json={"documents": docs}
        )

    @staticmethod
    def get_document(user_id: int, document_id: int) -> _Request[DocumentDetail]:
        return _Request("GET", f"/users/{user_id}/documents/{document_id}", _DETAIL)

    @staticmethod
    def lookup(user_id: int, external_ids: Sequence[str]) -> _Request[DocumentDetails]:
        body = {"external_ids": list(external_ids)}
        return _Request("POST", f"/users/{user_id}/documents/lookup", _DETAILS, json=body)

    @staticmethod
    def delete_document(user_id: int, document_id: int) -> _Request[None]:
        return _Request("DELETE", f"/users/{user_id}/documents/{document_id}", None)

    @staticmethod
    def delete_documents(
        user_id: int, filter: Mapping[str, Any] | None, external_ids: Sequence[str] | None
    ) -> _Request[DeleteResult]:
        if (filter is None) == (external_ids is None):
            raise TypeError("delete_documents() takes either `filter` or `external_ids`")
        body: dict[str, Any] = (
            {"filter": dict(filter)} if filter is not None else {"external_ids": external_ids}
        )
        return _Request("POST", f"/users/{user_id}/documents/delete", _DELETED, json=body)

    @staticmethod
    def page(
        user_id: int, after: int, limit: int, filter: Mapping[str, Any] | None
    ) -> _Request[DocumentPage]:
        params: dict[str, Any] = {"after": after, "limit": limit}
        if filter is not None:
            params["filter"] = json.dumps(filter)
        return _Request("GET", f"/users/{user_id}/documents", _PAGE, params=params)

    @staticmethod
    def search(
        user_id: int,
        query: str | None,
        vector: Sequence[float] | None,
        k: int,
        mode: SearchMode,
        filter: Mapping[str, Any] | None,
    ) -> _Request[SearchResponse]:
        body: dict[str, Any] = {"k": k, "mode": mode}
        if query is not None:
            body["query"] = query
        if vector is not None:
            body["vector"] = list(vector)
        if filter is not None:
            body["filter"] = dict(filter)
        return _Request("POST", f"/users/{user_id}/search", _SEARCH, json=body)

    @staticmethod
    def create_key(user_id: int, name: str | None) -> _Request[ApiKeyCreated]:
        body = {"name": name} if name is not None else None
        return _Request("POST", f"/users/{user_id}/keys", _KEY_CREATED, json=body)

    @staticmethod
    def list_keys(user_id: int) -> _Request[list[ApiKeyRead]]:
        return _Request("GET", f"/users/{user_id}/keys", _KEYS)

    @staticmethod
    def revoke_key(user_id: int, key_id: int) -> _Request[ApiKeyRead]:
        return _Request("DELETE", f"/users/{user_id}/keys/{key_id}", _KEY)

    @staticmethod
    def upload(
        user_id: int, files: Iterable[FileSpec], metadata: Mapping[str, Any] | None
    ) -> _Request[UploadResult]:
        data = {"metadata": json.dumps(metadata)} if metadata is not None else None
        return _Request(
            "POST", f"/users/{user_id}/files", _UPLOAD, files=_file_parts(files), data=data
        )

    @staticmethod
    def embed(texts: Sequence[str], model: str | None) -> _Request[EmbeddingResponse]:
        body: dict[str, Any] = {"input": list(texts)}
        if model is not None:
            body["model"] = model
        return _Request("POST", "/v1/embeddings", _EMBEDDINGS, json=body)


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of strings, not a single str")


def _vectors(response: EmbeddingResponse) -> list[list[float]]:
    rows = sorted(response.data, key=lambda d: d.index)
    vectors = [d.embedding for d in rows]
    if any(isinstance(v, str) for v in vectors):
        raise PgsearchClientError("the server sent base64 vectors where floats were asked for")
    return vectors  # type: ignore[return-value]


def _parts(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# A call of several requests, written once for both clients: a generator that yields each
# request and is sent its answer (or thrown its error); `Client._drive` and `AsyncClient._drive`
# send the requests, blocking or awaited.
_Plan = Generator[_Request[Any], Any, T]


@dataclass
class _Done(Generic[T]):
    result: T


def _advance(plan: _Plan[T], outcome: Any) -> _Request[Any] | _Done[T]:
    """The plan's next request once it has `outcome` (an answer, or an error it is thrown), or
    its result."""
    try:
        if isinstance(outcome, PgsearchClientError):
            return plan.throw(outcome)
        return plan.send(outcome)
    except StopIteration as done:
        return _Done(done.value)


class _Plans:
    """The API's calls of several requests as `_Plan`s (no I/O), shared by both clients."""

    @staticmethod
    def create_documents(
        user_id: int,
        documents: Iterable[DocumentCreate | Mapping[str, Any]],
        *,
        max_count: int,
        max_bytes: int,
    ) -> _Plan[BatchResult]:
        docs = map(_document_json, documents)
        results = []
        for batch in _batches(docs, max_count=max_count, max_bytes=max_bytes):
            results.append((yield from _Plans.store(user_id, batch)))
        return _merge(results)

    @staticmethod
    def store(user_id: int, batch: list[dict[str, Any]]) -> _Plan[BatchResult]:
        """One batch; halved (and each half likewise) while the server finds it too large."""
        try:
            result: BatchResult = yield _Calls.batch(user_id, batch)
            return result
        except PayloadTooLarge:
            if len(batch) == 1:
                raise
            half = len(batch) // 2
            first = yield from _Plans.store(user_id, batch[:half])
            return _merge([first, (yield from _Plans.store(user_id, batch[half:]))])

    @staticmethod
    def get_documents(user_id: int, external_ids: Sequence[str]) -> _Plan[list[DocumentDetail]]:
        found: list[DocumentDetail] = []
        for part in _parts(external_ids, MAX_BATCH_DOCUMENTS):
            found += (yield _Calls.lookup(user_id, part)).documents
        return found

    @staticmethod
    def delete_documents(
        user_id: int, filter: Mapping[str, Any] | None, external_ids: Sequence[str] | None
    ) -> _Plan[int]:
        if external_ids is None:
            deleted: int = (yield _Calls.delete_documents(user_id, filter, None)).deleted
            return deleted
        deleted = 0
        for part in _parts(external_ids, MAX_BATCH_DOCUMENTS):
            deleted += (yield _Calls.delete_documents(user_id, None, list(part))).deleted
        return deleted

    @staticmethod
    def embed(texts: Sequence[str], model: str | None) -> _Plan[list[list[float]]]:
        _check_texts(texts)
        vectors: list[list[float]] = []
        for part in _parts(texts, MAX_EMBEDDING_INPUTS):
            vectors += _vectors((yield _Calls.embed(part, model)))
        return vectors


# -- the clients ------------------------------------------------------------------------------


class _Base(Generic[H]):
    """What both clients share: their settings, their `http` client (of `_http_class`), and
    how a `_Request` is sent."""

    _http_class: type[H]

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        self.base_url, headers = _settings(base_url, api_key)
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.batch_bytes = batch_bytes
        self._batch_limit: int | None = None
        self.http: H = self._http_class(base_url=self.base_url, headers=headers, timeout=timeout)

    def _send_args(self, request: _Request[Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"params": request.params}
        if request.files is not None:
            args["files"] = request.files
            args["data"] = request.data
        elif request.json is not None:
            args["json"] = request.json
        return args


class Client(_Base[httpx.Client]):
    """A blocking client. `base_url` and `api_key` default to `PGSEARCH_URL` (else
    http://127.0.0.1:8000) and `PGSEARCH_API_KEY`. A 503 is retried up to `retries` times,
    after the server's `Retry-After` (at most `max_retry_wait` seconds each)."""

    _http_class = httpx.Client

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _run(self, request: _Request[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    request.method, request.path, **self._send_args(request)
                )
            except httpx.TransportError as exc:
                raise PgsearchConnectionError(f"{self.base_url}: {exc}") from exc
            if response.status_code != 503 or attempt >= self.retries:
                return request.read(response)
            time.sleep(_retry_after(response, attempt=attempt, cap=self.max_retry_wait))
            attempt += 1

    def _drive(self, plan: _Plan[T]) -> T:
        """Send the plan's requests, and back their answers or errors; its result."""
        step = _advance(plan, None)
        while isinstance(step, _Request):
            try:
                outcome = self._run(step)
            except PgsearchClientError as exc:
                outcome = exc
            step = _advance(plan, outcome)
        return step.result

    # health and users

    def health(self) -> Health:
        """The server's `/health` (raises `ServiceUnavailable` when its database is down)."""
        return self._run(_Calls.health())

    def create_user(self, name: str) -> UserRead:
        """Create a user (admin)."""
        return self._run(_Calls.create_user(name))

    def get_user(self, user_id: int) -> UserRead:
        """One user."""
        return self._run(_Calls.get_user(user_id))

    def list_users(self, *, limit: int = 100, offset: int = 0) -> list[UserRead]:
        """Users by id (admin)."""
        return self._run(_Calls.list_users(limit, offset))

    def update_user(self, user_id: int, *, name: str) -> UserRead:
        """Rename a user (admin)."""
        return self._run(_Calls.update_user(user_id, name))

    def delete_user(self, user_id: int) -> None:
        """Delete a user and all their documents (admin)."""
        self._run(_Calls.delete_user(user_id))

    # documents

    def create_document(
        self,
        user_id: int,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        chunks: Sequence[Mapping[str, Any]] | None = None,
    ) -> DocumentRead:
        """Store one document (an existing `external_id` is replaced)."""
        return self._run(_Calls.create_document(user_id, text, metadata, external_id, chunks))

    def create_documents(
        self, user_id: int, documents: Iterable[DocumentCreate | Mapping[str, Any]]
    ) -> BatchResult:
        """Store documents in batches at the server's limit; each batch is all or nothing,
        and the batches before a failing one stay stored."""
        limit = self.batch_limit()
        return self._drive(
            _Plans.create_documents(user_id, documents, max_count=limit, max_bytes=self.batch_bytes)
        )

    def batch_limit(self) -> int:
        """Documents per batch request, read once from the server's OpenAPI schema."""
        if self._batch_limit is None:
            try:
                response = self.http.get("/openapi.json")
                openapi = response.json() if response.is_success else None
            except (httpx.TransportError, ValueError):
                openapi = None
            self._batch_limit = _batch_limit_from(openapi)
        return self._batch_limit

    def get_document(self, user_id: int, document_id: int) -> DocumentDetail:
        """One document with its text."""
        return self._run(_Calls.get_document(user_id, document_id))

    def get_documents(self, user_id: int, external_ids: Sequence[str]) -> list[DocumentDetail]:
        """The documents with these external ids, in that order; missing ones are left out."""
        return self._drive(_Plans.get_documents(user_id, external_ids))

    def delete_document(self, user_id: int, document_id: int) -> None:
        """Delete one document."""
        self._run(_Calls.delete_document(user_id, document_id))

    def delete_documents(
        self,
        user_id: int,
        *,
        filter: Mapping[str, Any] | None = None,
        external_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete the documents matching `filter`, or with these external ids; how many."""
        return self._drive(_Plans.delete_documents(user_id, filter, external_ids))

    def list_documents_page(
        self,
        user_id: int,
        *,
        after: int = 0,
        limit: int = 100,
        filter: Mapping[str, Any] | None = None,
    ) -> DocumentPage:
        """One page of documents; pass its `next_cursor` as `after` for the next."""
        return self._run(_Calls.page(user_id, after, limit, filter))

    def list_documents(
        self, user_id: int, *, filter: Mapping[str, Any] | None = None, page_size: int = 100
    ) -> Iterator[DocumentRead]:
        """Every document of the user (matching `filter`), by id, fetched a page at a time."""
        after = 0
        while True:
            page = self.list_documents_page(user_id, after=after, limit=page_size, filter=filter)
            yield from page.documents
            if page.next_cursor is None:
                return
            after = page.next_cursor

    # search, keys, files, embeddings

    def search(
        self,
        user_id: int,
        query: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filter: Mapping[str, Any] | None = None,
    ) -> SearchResponse:
        """Search the user's documents by text `query`, by `vector`, or both."""
        return self._run(_Calls.search(user_id, query, vector, k, mode, filter))

    def create_key(self, user_id: int, *, name: str | None = None) -> ApiKeyCreated:
        """Issue an API key for the user (admin); its secret is only in this answer."""
        return self._run(_Calls.create_key(user_id, name))

    def list_keys(self, user_id: int) -> list[ApiKeyRead]:
        """The user's keys."""
        return self._run(_Calls.list_keys(user_id))

    def revoke_key(self, user_id: int, key_id: int) -> ApiKeyRead:
        """Revoke a key."""
        return self._run(_Calls.revoke_key(user_id, key_id))

    def upload_files(
        self,
        user_id: int,
        files: Iterable[FileSpec],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> UploadResult:
        """Upload files (paths, or `(filename, bytes or binary file)`) as documents named by
        their file names; bad files are listed in `errors`."""
        return self._run(_Calls.upload(user_id, files, metadata))

    def embed(self, texts: Sequence[str], *, model: str | None = None) -> list[list[float]]:
        """Vectors of `texts` from the server's built-in model (`POST /v1/embeddings`)."""
        return self._drive(_Plans.embed(texts, model))


class AsyncClient(_Base[httpx.AsyncClient]):
    """`Client` for asyncio: the same methods, awaited; `list_documents` is an async iterator."""

    _http_class = httpx.AsyncClient

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def _run(self, request: _Request[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self.http.request(
                    request.method, request.path, **self._send_args(request)
                )
            except httpx.TransportError as exc:
                raise PgsearchConnectionError(f"{self.base_url}: {exc}") from exc
            if response.status_code != 503 or attempt >= self.retries:
                return request.read(response)
            await asyncio.sleep(_retry_after(response, attempt=attempt, cap=self.max_retry_wait))
            attempt += 1

    async def _drive(self, plan: _Plan[T]) -> T:
        """Send the plan's requests, and back their answers or errors; its result."""
        step = _advance(plan, None)
        while isinstance(step, _Request):
            try:
                outcome = await self._run(step)
            except PgsearchClientError as exc:
                outcome = exc
            step = _advance(plan, outcome)
        return step.result

    async def health(self) -> Health:
        """The server's `/health` (raises `ServiceUnavailable` when its database is down)."""
        return await self._run(_Calls.health())

    async def create_user(self, name: str) -> UserRead:
        """Create a user (admin)."""
        return await self._run(_Calls.create_user(name))

    async def get_user(self, user_id: int) -> UserRead:
        """One user."""
        return await self._run(_Calls.get_user(user_id))

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[UserRead]:
        """Users by id (admin)."""
        return await self._run(_Calls.list_users(limit, offset))

    async def update_user(self, user_id: int, *, name: str) -> UserRead:
        """Rename a user (admin)."""
        return await self._run(_Calls.update_user(user_id, name))

    async def delete_user(self, user_id: int) -> None:
        """Delete a user and all their documents (admin)."""
        await self._run(_Calls.delete_user(user_id))

    async def create_document(
        self,
        user_id: int,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        chunks: Sequence[Mapping[str, Any]] | None = None,
    ) -> DocumentRead:
        """Store one document (an existing `external_id` is replaced)."""
        return await self._run(_Calls.create_document(user_id, text, metadata, external_id, chunks))

    async def create_documents(
        self, user_id: int, documents: Iterable[DocumentCreate | Mapping[str, Any]]
    ) -> BatchResult:
        """Store documents in batches at the server's limit (see `Client.create_documents`)."""
        limit = await self.batch_limit()
        return await self._drive(
            _Plans.create_documents(user_id, documents, max_count=limit, max_bytes=self.batch_bytes)
        )

    async def batch_limit(self) -> int:
        """Documents per batch request, read once from the server's OpenAPI schema."""
        if self._batch_limit is None:
            try:
                response = await self.http.get("/openapi.json")
                openapi = response.json() if response.is_success else None
            except (httpx.TransportError, ValueError):
                openapi = None
            self._batch_limit = _batch_limit_from(openapi)
        return self._batch_limit

    async def get_document(self, user_id: int, document_id: int) -> DocumentDetail:
        """One document with its text."""
        return await self._run(_Calls.get_document(user_id, document_id))

    async def get_documents(
        self, user_id: int, external_ids: Sequence[str]
    ) -> list[DocumentDetail]:
        """The documents with these external ids, in that order; missing ones are left out."""
        return await self._drive(_Plans.get_documents(user_id, external_ids))

    async def delete_document(self, user_id: int, document_id: int) -> None:
        """Delete one document."""
        await self._run(_Calls.delete_document(user_id, document_id))

    async def delete_documents(
        self,
        user_id: int,
        *,
        filter: Mapping[str, Any] | None = None,
        external_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete the documents matching `filter`, or with these external ids; how many."""
        return await self._drive(_Plans.delete_documents(user_id, filter, external_ids))

    async def list_documents_page(
        self,
        user_id: int,
        *,
        after: int = 0,
        limit: int = 100,
        filter: Mapping[str, Any] | None = None,
    ) -> DocumentPage:
        """One page of documents; pass its `next_cursor` as `after` for the next."""
        return await self._run(_Calls.page(user_id, after, limit, filter))

    async def list_documents(
        self, user_id: int, *, filter: Mapping[str, Any] | None = None, page_size: int = 100
    ) -> AsyncIterator[DocumentRead]:
        """Every document of the user (matching `filter`), by id, fetched a page at a time."""
        after = 0
        while True:
            page = await self.list_documents_page(
                user_id, after=after, limit=page_size, filter=filter
            )
            for doc in page.documents:
                yield doc
            if page.next_cursor is None:
                return
            after = page.next_cursor

    async def search(
        self,
        user_id: int,
        query: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filter: Mapping[str, Any] | None = None,
    ) -> SearchResponse:
        """Search the user's documents by text `query`, by `vector`, or both."""
        return await self._run(_Calls.search(user_id, query, vector, k, mode, filter))

    async def create_key(self, user_id: int, *, name: str | None = None) -> ApiKeyCreated:
        """Issue an API key for the user (admin); its secret is only in this answer."""
        return await self._run(_Calls.create_key(user_id, name))

    async def list_keys(self, user_id: int) -> list[ApiKeyRead]:
        """The user's keys."""
        return await self._run(_Calls.list_keys(user_id))

    async def revoke_key(self, user_id: int, key_id: int) -> ApiKeyRead:
        """Revoke a key."""
        return await self._run(_Calls.revoke_key(user_id, key_id))

    async def upload_files(
        self,
        user_id: int,
        files: Iterable[FileSpec],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> UploadResult:
        """Upload files as documents named by their file names (see `Client.upload_files`)."""
        return await self._run(_Calls.upload(user_id, files, metadata))

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> list[list[float]]:
        """Vectors of `texts` from the server's built-in model (`POST /v1/embeddings`)."""
        return await self._drive(_Plans.embed(texts, model))
