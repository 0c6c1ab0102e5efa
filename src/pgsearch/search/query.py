"""Search statements: semantic (pgvector HNSW), keyword (full text) and hybrid (RRF), each one SQL.

Every statement returns one row per document (its best chunk), best first, with the columns
`document_id, external_id, chunk_index, text, score, metadata`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, Text, cast, func, literal, select
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY
from sqlalchemy.sql.functions import coalesce

from pgsearch.models import TEXT_SEARCH_CONFIG, Chunk, Document

# Reciprocal rank fusion constant (Cormack et al.): damps the weight of the very first ranks.
RRF_K = 60


def candidate_count(k: int) -> int:
    """Chunks fetched per ranking: several per wanted document, as documents repeat."""
    return min(max(4 * k, 40), 1000)


def _filtered_chunks(
    user_id: int, where: ColumnElement[bool] | None
) -> tuple[list[ColumnElement[bool]], bool]:
    """Conditions restricting chunks to one user (and a metadata filter, via a join)."""
    conditions: list[ColumnElement[bool]] = [Chunk.user_id == user_id]
    if where is not None:
        conditions.append(where)
    return conditions, where is not None


def semantic_candidates(
    user_id: int, vector: Sequence[float], *, limit: int, where: ColumnElement[bool] | None
) -> CTE:
    """The `limit` nearest chunks by cosine distance (served by the HNSW index)."""
    distance = Chunk.embedding.cosine_distance(vector)
    conditions, join = _filtered_chunks(user_id, where)
    stmt = select(Chunk.id.label("chunk_id"), Chunk.document_id, distance.label("distance"))
    if join:
        stmt = stmt.join(Document, Document.id == Chunk.document_id)
    stmt = stmt.where(*conditions).order_by(distance).limit(limit)
    # MATERIALIZED: with iterative index scans the order is only approximately right, so the
    # candidates are collected first and ranked again below.
    return stmt.cte("semantic_candidates").prefix_with("MATERIALIZED")


def or_tsquery(query: str) -> ColumnElement[Any]:
    """The query's words OR-ed together: rank every chunk that has any of them.

    `plainto_tsquery` ANDs the words, so a natural-language query matches almost nothing;
    OR-ing and ranking behaves like classic keyword search engines.
    """
    config = cast(literal(TEXT_SEARCH_CONFIG), REGCONFIG)
    anded = cast(func.plainto_tsquery(config, query), Text)
    return cast(func.replace(anded, "&", "|"), TSQUERY)


def keyword_candidates(
    user_id: int, query: str, *, limit: int, where: ColumnElement[bool] | None
) -> CTE:
    """The `limit` best chunks by full-text rank (served by the GIN index on `tsv`)."""
    tsquery = or_tsquery(query)
    # Normalisation 1: divide by 1 + log(length), so long chunks do not win by size alone.
    rank = func.ts_rank(Chunk.tsv, tsquery, 1)
    conditions, join = _filtered_chunks(user_id, where)
    stmt = select(Chunk.id.label("chunk_id"), Chunk.document_id, rank.label("rank"))
    if join:
        stmt = stmt.join(Document, Document.id == Chunk.document_id)
    stmt = stmt.where(Chunk.tsv.op("@@")(tsquery), *conditions).order_by(rank.desc()).limit(limit)
    return stmt.cte("keyword_candidates").prefix_with("MATERIALIZED")


def _best_per_document(candidates: CTE, name: str) -> CTE:
    """Each document once, with its best chunk and its rank among documents (1 = best)."""
    semantic = "distance" in candidates.c
    measure = candidates.c.distance if semantic else candidates.c.rank
    order = measure.asc() if semantic else measure.desc()
    position = func.row_number().over(partition_by=candidates.c.document_id, order_by=order)
    per_doc = select(candidates, position.label("pos")).subquery(f"{name}_per_doc")
    best_measure = per_doc.c[measure.key]
    best_order = best_measure.asc() if semantic else best_measure.desc()
    return (
        select(
            per_doc.c.chunk_id,
            per_doc.c.document_id,
            best_measure,
            func.row_number().over(order_by=best_order).label("doc_rank"),
        )
        .where(per_doc.c.pos == 1)
        .cte(name)
    )


def _with_details(ranked: Select[*tuple[Any, ...]], k: int) -> Select[Any]:
    """Join chunk text and document fields onto (chunk_id, document_id, score) rows."""
    r = ranked.subquery("ranked")
    return (
        select(
            r.c.document_id,
            Document.external_id,
            Chunk.chunk_index,
            Chunk.text,
            r.c.score,
            Document.meta.label("metadata"),
        )
        .join(Chunk, Chunk.id == r.c.chunk_id)
        .join(Document, Document.id == r.c.document_id)
        .order_by(r.c.score.desc(), r.c.document_id)
        .limit(k)
    )


def semantic_search(
    user_id: int, vector: Sequence[float], *, k: int, where: ColumnElement[bool] | None
) -> Select[Any]:
    """Nearest documents by their best chunk; score = cosine similarity."""
    cand = semantic_candidates(user_id, vector, limit=candidate_count(k), where=where)
    best = _best_per_document(cand, "semantic")
    ranked = select(best.c.chunk_id, best.c.document_id, (1 - best.c.distance).label("score"))
    return _with_details(ranked, k)


def keyword_search(
    user_id: int, query: str, *, k: int, where: ColumnElement[bool] | None
) -> Select[Any]:
    """Documents by full-text rank of their best chunk; score = ts_rank."""
    cand = keyword_candidates(user_id, query, limit=candidate_count(k), where=where)
    best = _best_per_document(cand, "keyword")
    ranked = select(best.c.chunk_id, best.c.document_id, best.c.rank.label("score"))
    return _with_details(ranked, k)


def hybrid_search(
    user_id: int,
    query: str,
    vector: Sequence[float],
    *,
    k: int,
    where: ColumnElement[bool] | None,
    semantic_weight: float,
    keyword_weight: float,
    rrf_k: int = RRF_K,
) -> Select[Any]:
    """Weighted reciprocal rank fusion of the semantic and keyword document rankings."""
    n = candidate_count(k)
    sem = _best_per_document(semantic_candidates(user_id, vector, limit=n, where=where), "semantic")
    kw = _best_per_document(keyword_candidates(user_id, query, limit=n, where=where), "keyword")

    def rrf(rank: ColumnElement[Any], weight: float) -> ColumnElement[float]:
        # A document missing from one ranking gets nothing from it.
        return coalesce(literal(weight) / (rrf_k + rank), 0.0)

    fused = (
        select(
            coalesce(sem.c.chunk_id, kw.c.chunk_id).label("chunk_id"),
            coalesce(sem.c.document_id, kw.c.document_id).label("document_id"),
            (rrf(sem.c.doc_rank, semantic_weight) + rrf(kw.c.doc_rank, keyword_weight)).label(
                "score"
            ),
        )
        .select_from(sem)
        .join(kw, sem.c.document_id == kw.c.document_id, full=True)
    )
    return _with_details(fused, k)
