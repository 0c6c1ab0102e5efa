"""Documents and chunks: the statements `services/documents.py` runs (bulk, bound, COPY)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Row, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pgsearch.db import driver_connection
from pgsearch.models import Chunk, Document, User

# Chunks are COPied (binary) into a per-connection staging table, then moved into `chunks` by one
# statement that makes each tsvector from the text its analyzer prepared. A COPY cannot compute
# a column, and an INSERT from unnest()ed arrays took ~1 ms per chunk to receive its vector[]
# parameter (bench/languages.py: 0.4x today's COPY for English; this way ~0.9x).
# Safe behind a transaction-mode pooler: the table is made (if missing) in the same transaction
# as the COPY and the INSERT that empties it, whichever server connection that transaction gets.
_STAGE_CHUNKS = """
CREATE TEMPORARY TABLE IF NOT EXISTS chunks_in (
    document_id int8, chunk_index int4, text text, embedding vector, config text, analysed text
) ON COMMIT DELETE ROWS
"""
_COPY_CHUNKS = (
    "COPY chunks_in (document_id, chunk_index, text, embedding, config, analysed)"
    " FROM STDIN (FORMAT BINARY)"
)
_MOVE_CHUNKS = """
WITH staged AS (DELETE FROM chunks_in RETURNING *)
INSERT INTO chunks (document_id, user_id, chunk_index, text, embedding, tsv)
SELECT document_id, %(user_id)s, chunk_index, text, embedding,
       to_tsvector(config::regconfig, analysed)
FROM staged
"""


@dataclass
class ChunkRows:
    """A document's new chunks: texts, vectors, and what its analyzer makes of each text."""

    document_id: int
    texts: Sequence[str]
    vectors: NDArray[np.float32]
    config: str  # the text search configuration of `analysed`
    analysed: Sequence[str]


def lock_user(session: Session, user_id: int) -> User | None:
    """The user, locked against deletion until the transaction ends (None: no such user)."""
    return session.scalar(select(User).where(User.id == user_id).with_for_update(key_share=True))


def lock_by_external_ids(
    session: Session, user_id: int, external_ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """(id, external_id, content_hash, meta) of the user's documents with these ids, locked."""
    return session.execute(
        select(Document.id, Document.external_id, Document.content_hash, Document.meta)
        .where(Document.user_id == user_id, Document.external_id.in_(external_ids))
        .with_for_update()
    ).all()


def insert_documents(
    session: Session, rows: Sequence[dict[str, Any]]
) -> Sequence[Row[int, str | None]]:
    """One multi-row INSERT; (id, external_id) in row order, without rows that hit a
    concurrent insert of the same external_id (ON CONFLICT DO NOTHING)."""
    stmt = (
        insert(Document)
        .on_conflict_do_nothing(index_elements=[Document.user_id, Document.external_id])
        .returning(Document.id, Document.external_id, sort_by_parameter_order=True)
    )
    return session.execute(stmt, list(rows)).all()


def update_documents(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Replace text, metadata and hash of documents by id; `new_count` None keeps the count."""
    stmt = (
        update(Document)
        .where(Document.id == bindparam("doc_id"))
        .values(
            text=bindparam("new_text"),
            meta=bindparam("new_meta"),
            content_hash=bindparam("new_hash"),
            language=bindparam("new_language"),
            chunk_count=func.coalesce(bindparam("new_count"), Document.chunk_count),
            updated_at=func.now(),
        )
    )
    session.connection().execute(stmt, list(rows))


def replace_chunks(
    session: Session, user_id: int, document_ids: Sequence[int], chunks: Iterable[ChunkRows]
) -> None:
    """Delete the documents' chunks and insert the new ones (binary COPY, then one INSERT)."""
    session.execute(delete(Chunk).where(Chunk.document_id.in_(document_ids)))
    conn = driver_connection(session.connection())
    with conn.cursor() as cur:
        cur.execute(_STAGE_CHUNKS)
        with cur.copy(_COPY_CHUNKS) as copy:
            copy.set_types(["int8", "int4", "text", "vector", "text", "text"])
            for r in chunks:
                rows = zip(r.texts, r.vectors, r.analysed, strict=True)
                for i, (text, vector, analysed) in enumerate(rows):
                    copy.write_row((r.document_id, i, text, vector, r.config, analysed))
        cur.execute(_MOVE_CHUNKS, {"user_id": user_id})


def documents_by_id(session: Session, ids: Sequence[int]) -> dict[int, Document]:
    """The documents with these ids, freshly read."""
    rows = session.scalars(
        select(Document).where(Document.id.in_(ids)).execution_options(populate_existing=True)
    ).all()
    return {d.id: d for d in rows}


def user_document(session: Session, user_id: int, document_id: int) -> Document | None:
    """One document, if it is this user's."""
    return session.scalar(
        select(Document).where(Document.id == document_id, Document.user_id == user_id)
    )


def by_external_ids(session: Session, user_id: int, external_ids: Sequence[str]) -> list[Document]:
    """The user's documents with these external ids (any order)."""
    stmt = select(Document).where(
        Document.user_id == user_id, Document.external_id.in_(external_ids)
    )
    return list(session.scalars(stmt))


def document_page(
    session: Session, user_id: int, *, after: int, limit: int, where: ColumnElement[bool]
) -> list[Document]:
    """Up to `limit` of the user's documents with ids after `after`, by id."""
    stmt = (
        select(Document)
        .where(Document.user_id == user_id, Document.id > after, where)
        .order_by(Document.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def delete_where(session: Session, user_id: int, where: ColumnElement[bool]) -> int:
    """Delete the user's documents matching `where` (chunks cascade); how many."""
    result = session.execute(delete(Document).where(Document.user_id == user_id, where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def language_counts(session: Session, user_id: int) -> dict[str, int]:
    """The user's documents per language."""
    rows = session.execute(
        select(Document.language, func.count())
        .where(Document.user_id == user_id)
        .group_by(Document.language)
    ).all()
    return {language: count for language, count in rows}
