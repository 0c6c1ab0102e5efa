"""Storing documents: chunk, embed (once per content), and write documents and chunks in bulk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from pgsearch.analysis import (
    DEFAULT_LANGUAGE,
    analyzer_for,
    detect_languages,
    for_index,
    normalize_code,
)
from pgsearch.embedding import Embedder
from pgsearch.errors import DocumentNotFound, InvalidInput, UserNotFound
from pgsearch.ingest.chunking import chunk_text
from pgsearch.models import Document, User
from pgsearch.repositories import documents as repo
from pgsearch.schemas import MAX_CHUNKS_PER_DOCUMENT, DocumentCreate
from pgsearch.search import bm25
from pgsearch.search.bm25 import Bm25Params
from pgsearch.search.filters import compile_filter
from pgsearch.services import user_facts
from pgsearch.services.users import get_user

Status = Literal["inserted", "updated", "unchanged"]

CHUNK_MAX_CHARS = 800
CHUNK_OVERLAP = 100


@dataclass
class _Prepared:
    data: DocumentCreate
    texts: list[str]
    vectors: NDArray[np.float32] | None
    content_hash: str
    language: str
    doc_id: int | None = None
    status: Status = "inserted"


@dataclass
class StoreResult:
    """Outcome of storing a batch, in request order."""

    documents: list[Document]
    statuses: list[Status]
    counts: dict[Status, int] = field(default_factory=dict)


def lock_user(session: Session, user_id: int) -> User:
    """The user, locked against deletion until the transaction ends (or `UserNotFound`), for
    a write to their documents: what searches remember of them is dropped."""
    user_facts.forget(user_id)
    user = repo.lock_user(session, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def check_vector(values: Sequence[float], *, dim: int, what: str) -> NDArray[np.float32]:
    """A client vector as float32, or `InvalidInput` naming what is wrong with it."""
    if len(values) != dim:
        raise InvalidInput(f"{what} has {len(values)} dimensions, expected {dim}")
    with np.errstate(over="ignore"):
        vector = np.asarray(values, dtype=np.float32)
    if not np.isfinite(vector).all():
        raise InvalidInput(f"{what} has values too large for 32-bit floats")
    if not vector.any():
        raise InvalidInput(f"{what} is all zeros: cosine distance is undefined for it")
    return vector


def declared_language(doc: DocumentCreate, *, user_language: str | None) -> str | None:
    """The document's language if someone said: given, or in its metadata, or the user's."""
    if doc.language is not None:
        return doc.language
    for key in ("language", "lang"):
        value = doc.metadata.get(key)
        # Metadata is the client's own: a value that names no supported language is left alone.
        found = normalize_code(value) if isinstance(value, str) else None
        if found is not None:
            return found
    return user_language


def document_languages(
    session: Session, user_id: int, docs: Sequence[DocumentCreate], user_language: str | None
) -> list[str]:
    """Each document's language: declared, else detected (the batch together, an uncertain
    detection settled by the user's collection: analysis.detect_languages)."""
    languages = [declared_language(d, user_language=user_language) for d in docs]
    undeclared = [i for i, lang in enumerate(languages) if lang is None]
    if undeclared:
        detected = detect_languages(
            [docs[i].text for i in undeclared], documents=repo.language_counts(session, user_id)
        )
        for i, lang in zip(undeclared, detected, strict=True):
            languages[i] = lang
    return [lang or DEFAULT_LANGUAGE for lang in languages]


def _prepare(
    doc: DocumentCreate,
    *,
    where: str,
    model: str,
    dim: int,
    language: str,
) -> _Prepared:
    vectors: NDArray[np.float32] | None = None
    if doc.chunks is not None:
        texts = [c.text for c in doc.chunks]
        vectors = np.stack(
            [
                check_vector(c.embedding, dim=dim, what=f"{where}chunks[{i}].embedding")
                for i, c in enumerate(doc.chunks)
            ]
        )
        source = "client:" + hashlib.sha256(vectors.tobytes()).hexdigest()
    else:
        texts = chunk_text(doc.text, max_chars=CHUNK_MAX_CHARS, overlap=CHUNK_OVERLAP)
        if len(texts) > MAX_CHUNKS_PER_DOCUMENT:
            raise InvalidInput(
                f"{where}text makes {len(texts)} chunks, more than {MAX_CHUNKS_PER_DOCUMENT}"
            )
        source = f"model:{model}:{CHUNK_MAX_CHARS}:{CHUNK_OVERLAP}"
    # Same text, chunks, vector source and language → same hash → nothing to write again.
    # English is left out: documents stored before languages existed keep their hash.
    key = [doc.text, texts, source] + ([language] if language != DEFAULT_LANGUAGE else [])
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()
    return _Prepared(data=doc, texts=texts, vectors=vectors, content_hash=digest, language=language)


def store_documents(
    session: Session,
    *,
    user_id: int,
    docs: Sequence[DocumentCreate],
    embedder: Embedder,
    dim: int,
    labels: bool = True,
) -> StoreResult:
    """Insert or replace (by `external_id`) documents, all in the caller's transaction."""
    user = lock_user(session, user_id)
    seen: dict[str, int] = {}
    for i, doc in enumerate(docs):
        if doc.external_id is not None:
            if doc.external_id in seen:
                raise InvalidInput(
                    f"documents[{i}].external_id {doc.external_id!r} already appears at "
                    f"documents[{seen[doc.external_id]}]"
                )
            seen[doc.external_id] = i
    languages = document_languages(session, user_id, docs, user.language)
    prepared = [
        _prepare(
            d,
            where=f"documents[{i}]." if labels else "",
            model=embedder.name,
            dim=dim,
            language=languages[i],
        )
        for i, d in enumerate(docs)
    ]

    # Lock the documents being replaced, so concurrent writers of one external_id serialise.
    by_external = {p.data.external_id: p for p in prepared if p.data.external_id is not None}
    if by_external:
        _classify_existing(session, user_id, by_external)
    _embed_missing(prepared, embedder)

    new = [p for p in prepared if p.doc_id is None]
    _insert_new(session, user_id, new)
    # A concurrent writer may have inserted the same external_id between our read and insert.
    raced = {p.data.external_id: p for p in new if p.doc_id is None}
    if raced:
        _classify_existing(session, user_id, raced)  # type: ignore[arg-type]
        _embed_missing(list(raced.values()), embedder)

    _update_existing(session, [p for p in prepared if p.status == "updated"])
    written = [p for p in prepared if p.status in ("inserted", "updated") and p.vectors is not None]
    _replace_chunks(session, user_id, written)

    ids = [p.doc_id for p in prepared]
    by_id = repo.documents_by_id(session, [i for i in ids if i is not None])
    statuses = [p.status for p in prepared]
    counts: dict[Status, int] = {"inserted": 0, "updated": 0, "unchanged": 0}
    for s in statuses:
        counts[s] += 1
    return StoreResult(
        documents=[by_id[i] for i in ids if i is not None], statuses=statuses, counts=counts
    )


def _classify_existing(session: Session, user_id: int, by_external: dict[str, _Prepared]) -> None:
    for row in repo.lock_by_external_ids(session, user_id, list(by_external)):
        p = by_external[row.external_id]
        p.doc_id = row.id
        if row.content_hash == p.content_hash:
            p.status = "unchanged" if row.meta == p.data.metadata else "updated"
            if p.status == "updated":
                p.vectors = None  # metadata only: keep the stored chunks and vectors
                p.texts = []
        else:
            p.status = "updated"


def _embed_missing(prepared: Sequence[_Prepared], embedder: Embedder) -> None:
    """Embed, in one batched call, the chunks of every document whose content is new."""
    todo = [p for p in prepared if p.vectors is None and p.texts and p.status != "unchanged"]
    if not todo:
        return
    vectors = embedder.embed([t for p in todo for t in p.texts])
    start = 0
    for p in todo:
        p.vectors = vectors[start : start + len(p.texts)]
        start += len(p.texts)


def _insert_new(session: Session, user_id: int, new: Sequence[_Prepared]) -> None:
    if not new:
        return
    rows: list[dict[str, Any]] = [
        {
            "user_id": user_id,
            "external_id": p.data.external_id,
            "text": p.data.text,
            "meta": p.data.metadata,
            "content_hash": p.content_hash,
            "language": p.language,
            "chunk_count": len(p.texts),
        }
        for p in new
    ]
    returned = repo.insert_documents(session, rows)
    if len(returned) == len(new):
        for p, r in zip(new, returned, strict=True):
            p.doc_id = r.id
        return
    # Some rows hit ON CONFLICT (a concurrent insert): match the others by external_id.
    ids = {r.external_id: r.id for r in returned}
    for p in new:
        p.doc_id = ids.get(p.data.external_id)


def _update_existing(session: Session, updated: Sequence[_Prepared]) -> None:
    if not updated:
        return
    repo.update_documents(
        session,
        [
            {
                "doc_id": p.doc_id,
                "new_text": p.data.text,
                "new_meta": p.data.metadata,
                "new_hash": p.content_hash,
                "new_language": p.language,
                "new_count": len(p.texts) if p.vectors is not None else None,
            }
            for p in updated
        ],
    )


def analysed_chunks(
    document_id: int, texts: Sequence[str], vectors: NDArray[np.float32], language: str
) -> repo.ChunkRows:
    """A document's chunks, with the keyword analysis of its language."""
    analyzer = analyzer_for(language)
    analysed = [for_index(t, analyzer) for t in texts]
    return repo.ChunkRows(document_id, texts, vectors, analyzer.config, analysed)


def write_chunks(session: Session, user_id: int, chunks: Sequence[repo.ChunkRows]) -> None:
    """Replace these documents' chunks with `chunks` (the user locked by the caller).

    The triggers on chunks keep postings and statistics exact; the impacts that choose keyword
    candidates are re-made only when avgdl drifted (or k1, b changed).
    """
    if not chunks:
        return
    repo.replace_chunks(session, user_id, [c.document_id for c in chunks], chunks)
    bm25.refresh_impacts(session, user_id=user_id, params=Bm25Params.from_settings())


def _replace_chunks(session: Session, user_id: int, written: Sequence[_Prepared]) -> None:
    chunks = [
        analysed_chunks(p.doc_id, p.texts, p.vectors, p.language)
        for p in written
        if p.doc_id is not None and p.vectors is not None
    ]
    write_chunks(session, user_id, chunks)


# -- reading and deleting -------------------------------------------------------------------


def _filter(spec: dict[str, Any] | None) -> Any:
    return compile_filter(spec, Document.meta.expression)


def get_document(session: Session, *, user_id: int, document_id: int) -> Document:
    """One of the user's documents; another user's id is "not found", like a missing one."""
    doc = repo.user_document(session, user_id, document_id)
    if doc is None:
        get_user(session, user_id)  # an unknown user is reported as such
        raise DocumentNotFound(document_id)
    return doc


def list_documents(
    session: Session,
    *,
    user_id: int,
    after: int = 0,
    limit: int = 100,
    filter_spec: dict[str, Any] | None = None,
) -> tuple[list[Document], int | None]:
    """A page of documents by id (keyset pagination) and the cursor of the next page."""
    get_user(session, user_id)
    docs = repo.document_page(
        session, user_id, after=after, limit=limit + 1, where=_filter(filter_spec)
    )
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (docs[-1].id if more else None)


def delete_document(session: Session, *, user_id: int, document_id: int) -> None:
    """Delete one document (its chunks go with it)."""
    user_facts.forget(user_id)
    session.delete(get_document(session, user_id=user_id, document_id=document_id))
    session.flush()


def delete_documents(
    session: Session,
    *,
    user_id: int,
    filter_spec: dict[str, Any] | None = None,
    external_ids: Sequence[str] | None = None,
) -> int:
    """Delete the user's documents whose metadata match `filter_spec`, or with these
    `external_ids`; returns how many."""
    lock_user(session, user_id)
    where = _filter(filter_spec) if external_ids is None else Document.external_id.in_(external_ids)
    return repo.delete_where(session, user_id, where)


def documents_by_external_ids(
    session: Session, *, user_id: int, external_ids: Sequence[str]
) -> list[Document]:
    """The user's documents with these external ids, in that order (missing ones left out)."""
    get_user(session, user_id)
    found = {d.external_id: d for d in repo.by_external_ids(session, user_id, external_ids)}
    return [found[e] for e in dict.fromkeys(external_ids) if e in found]
