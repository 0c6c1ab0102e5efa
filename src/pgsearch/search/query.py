"""Search statements: semantic (HNSW or exact), keyword (BM25), hybrid (adaptive fusion).

Every statement returns one row per document (its best chunk), best first, with the columns
`document_id, external_id, chunk_index, text, score, metadata, complete, short`. `complete` is
false when the statement may have missed documents: too few distinct documents among its
candidate chunks while more chunks match, or a keyword top k it could not certify as exact; the
service then runs a wider statement (`Plan`). `short` is true when an HNSW scan returned fewer
chunks than asked (the service then scans exactly). Values are bound parameters
(`search_params()`), so a statement without a metadata filter is built once and reused: building
it costs more Python time than PostgreSQL needs to run it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    cast,
    column,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.functions import coalesce

from pgsearch.analysis import Analyzer
from pgsearch.models import Chunk, Document
from pgsearch.schemas import SearchMode
from pgsearch.search import bm25
from pgsearch.search.bm25 import CANDIDATES, USER_ID, Bm25Params, K
from pgsearch.search.filters import CompiledFilter
from pgsearch.search.params import FusionParams


class BinaryVector(Vector):
    """A vector parameter handed to psycopg as the numpy array it is.

    `Vector` formats the text form in Python (a tenth of a search); psycopg's pgvector dumper,
    registered on every connection by the engine (`db.create_db_engine`), sends the binary form.
    """

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


QUERY_VECTOR = bindparam("query_vector", type_=BinaryVector())
ALPHA_MAX = bindparam("alpha_max", type_=Float)
ALPHA_MIN = bindparam("alpha_min", type_=Float)
# Documents of each ranking that hybrid fusion normalises over (at least k). bench/fusion.py:
# the default held at or above the better single mode at depths 20, 40, 60 and 100.
FUSION_DEPTH = 40


def candidate_count(k: int) -> int:
    """Chunks fetched per ranking at first: several per wanted document, as documents repeat."""
    return min(max(4 * k, 40), 1000)


@dataclass(frozen=True)
class Plan:
    """One attempt at a search: which statement, and how many candidate chunks it keeps."""

    mode: SearchMode
    candidates: int
    # Semantic ranking: the HNSW index, or an exact scan of the user's chunks.
    approximate: bool = True
    # Keyword ranking: every matching chunk scored, instead of the certified top postings.
    exhaustive: bool = False
    # Keyword ranking by pgsearch_bm25 (no filter): an uncertified top k is first read again
    # with every posting list the fallback would read taken whole (`Bm25Params.deep`), in C,
    # before the SQL form scores every match.
    native: bool = False
    deep: bool = False

    def wider(self) -> Plan:
        """The next attempt after an incomplete result."""
        if self.mode == "keyword" and not self.exhaustive:
            if self.native and not self.deep:
                return replace(self, deep=True)
            return replace(self, exhaustive=True)
        return replace(self, candidates=self.candidates * 4)


def search_params(
    *,
    user_id: int,
    k: int,
    vector: NDArray[np.float32] | None = None,  # binary via psycopg: see BinaryVector
    query: str | None = None,
    fusion: FusionParams | None = None,  # hybrid only
    bm25_params: Bm25Params | None = None,
    candidates: int | None = None,
    analyzers: Sequence[Analyzer] = (),
) -> dict[str, Any]:
    """Values for the bound parameters of the statements below."""
    params: dict[str, Any] = {
        "user_id": user_id,
        "k": k,
        "candidates": candidates if candidates is not None else candidate_count(k),
        "query_vector": vector,
        **bm25.query_params(query, analyzers),
        **(bm25_params or Bm25Params()).params(),
    }
    if fusion is not None:
        params |= {"alpha_max": fusion.alpha_max, "alpha_min": fusion.alpha_min}
    return params


def statement(
    mode: SearchMode,
    where: ColumnElement[bool] | None = None,
    *,
    approximate: bool = True,
    exhaustive: bool = False,
    native: bool = False,
) -> Select[Any]:
    """The search statement for `mode`, restricted by a compiled metadata filter if given.

    `approximate` picks the semantic path: the HNSW index, or an exact scan of the user's
    chunks (see `semantic_candidates`); `approximate_pays` tells which one a user needs.
    `exhaustive` picks the keyword path: every matching chunk scored, instead of the top
    postings (see search/bm25.py). `native`: the top postings are read by the pgsearch_bm25
    extension (see pgsearch.native), for statements without a filter.
    """
    approximate = approximate and mode != "keyword"
    exhaustive = exhaustive and mode == "keyword"
    if where is None:
        return _unfiltered(mode, approximate, exhaustive, native and mode != "semantic")
    return _build(mode, where, approximate, exhaustive)


@functools.cache
def _unfiltered(mode: SearchMode, approximate: bool, exhaustive: bool, native: bool) -> Select[Any]:
    return _build(mode, None, approximate, exhaustive, native)


# Filters of one shape share a statement: building one costs milliseconds of Python.
_FILTERED_CACHE_SIZE = 512
_filtered: OrderedDict[tuple[SearchMode, bool, bool, Hashable], Select[Any]] = OrderedDict()
_filtered_lock = threading.Lock()


def filtered_statement(
    mode: SearchMode,
    compiled: CompiledFilter,
    *,
    approximate: bool = True,
    exhaustive: bool = False,
    native: bool = False,
) -> Select[Any]:
    """The statement for `mode` and a compiled filter; bind `compiled.params` with it."""
    approximate = approximate and mode != "keyword"
    exhaustive = exhaustive and mode == "keyword"
    if compiled.shape is None:
        return _unfiltered(mode, approximate, exhaustive, native and mode != "semantic")
    key = (mode, approximate, exhaustive, compiled.shape)
    with _filtered_lock:
        stmt = _filtered.get(key)
        if stmt is not None:
            _filtered.move_to_end(key)
            return stmt
    stmt = _build(mode, compiled.where, approximate, exhaustive)
    with _filtered_lock:
        _filtered[key] = stmt
        if len(_filtered) > _FILTERED_CACHE_SIZE:
            _filtered.popitem(last=False)
    return stmt


def _build(
    mode: SearchMode,
    where: ColumnElement[bool] | None,
    approximate: bool,
    exhaustive: bool,
    native: bool = False,
) -> Select[Any]:
    if mode == "semantic":
        stmt = semantic_search(where, approximate=approximate)
    elif mode == "keyword":
        stmt = keyword_search(where, exhaustive=exhaustive, native=native)
    else:
        stmt = hybrid_search(where, approximate=approximate, native=native)
    # A filter's selectivity decides its best plan (which table first, an index or not), and
    # a plan made once for any value cannot know it: filtered statements are planned at each
    # execution (never prepared: db.compile_statement).
    return stmt if where is None else stmt.execution_options(plan_each_execution=True)


def _restrict(
    stmt: Select[Any], where: ColumnElement[bool] | None, user: ColumnElement[bool] | None = None
) -> Select[Any]:
    """Limit chunks to the user (and to documents matching a metadata filter, via a join)."""
    stmt = stmt.where(Chunk.user_id == USER_ID if user is None else user)
    if where is not None:
        stmt = stmt.join(Document, Document.id == Chunk.document_id).where(where)
    return stmt


# A user's chunks are searched through the HNSW index when at least this many, and at least
# sqrt(APPROXIMATE_VISITS x all chunks): a filtered HNSW scan visits about (ef_search +
# candidates) / share tuples before it has enough of the user's, an exact scan visits the
# user's n chunks, so the index pays when n >= sqrt((ef_search + candidates) x total).
APPROXIMATE_MIN_CHUNKS = 1000
APPROXIMATE_VISITS = 200

_pg_class = table("pg_class", column("oid"), column("reltuples"))


@functools.cache
def approximate_pays() -> Select[Any]:
    """Whether the user (`user_id`) has enough chunks for the HNSW path.

    Counts the user's chunks (index only) up to the threshold, never further.
    """
    total = (
        select(func.greatest(_pg_class.c.reltuples, 0))
        .where(_pg_class.c.oid == cast(literal("chunks"), REGCLASS))
        .scalar_subquery()
    )
    cap = func.greatest(
        APPROXIMATE_MIN_CHUNKS, cast(func.sqrt(APPROXIMATE_VISITS * total), Integer)
    )
    users = select(literal(1).label("one")).where(Chunk.user_id == USER_ID).limit(cap).subquery()
    return select(func.count() >= cap).select_from(users)


def semantic_candidates(where: ColumnElement[bool] | None, *, approximate: bool = True) -> CTE:
    """The nearest chunks by cosine distance: by the HNSW index, or exact over the user's chunks.

    The planner picks between the two from its estimate of the user's rows, which is wrong
    whenever statistics lag (a user who just ingested 20k chunks gets an exact scan of them
    all, or a small user in a large table an HNSW scan that gives up at hnsw.max_scan_tuples
    with too few rows). So the caller chooses (`approximate_pays`), and each form leaves the
    planner one way: `int4eq(user_id, ...)`, the function form of `=`, matches no btree and is
    estimated at a fixed third of the rows, so in any table worth an index the HNSW scan is
    cheapest; ordering by
    `distance + 0` matches no HNSW index, so the exact form scans the user's chunks and sorts.
    """
    distance = Chunk.embedding.cosine_distance(QUERY_VECTOR)
    stmt = select(Chunk.id.label("chunk_id"), Chunk.document_id, distance.label("distance"))
    if approximate:
        stmt = _restrict(stmt, where, func.int4eq(Chunk.user_id, USER_ID, type_=Boolean)).order_by(
            distance
        )
    else:
        stmt = _restrict(stmt, where).order_by(distance + 0)
    stmt = stmt.limit(CANDIDATES)
    # MATERIALIZED: with iterative index scans the order is only approximately right, so the
    # candidates are collected first and ranked again below.
    return stmt.cte("semantic_candidates").prefix_with("MATERIALIZED")


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


def _documents(top: bm25.TopK, name: str) -> CTE:
    """`_best_per_document` of keyword candidates, which may be one per document already."""
    if not top.per_document:
        return _best_per_document(top.candidates, name)
    c = top.candidates
    doc_rank = func.row_number().over(order_by=(c.c.rank.desc(), c.c.document_id))
    return select(c.c.chunk_id, c.c.document_id, c.c.rank, doc_rank.label("doc_rank")).cte(name)


def _count(cte: CTE) -> ScalarSelect[int]:
    return select(func.count()).select_from(cte).scalar_subquery()


def _kth_best(best: CTE) -> ScalarSelect[Any]:
    """The k-th document's measure in a `_best_per_document` ranking (NULL: fewer than k)."""
    return select(best.c.rank).where(best.c.doc_rank == K).scalar_subquery()


def _enough(candidates: CTE, documents: ColumnElement[int]) -> ColumnElement[bool]:
    """k documents (`documents`, their count) found among the candidate chunks, or fewer
    chunks matched than were asked for (none left out)."""
    return or_(documents >= K, _count(candidates) < CANDIDATES)


def _short(candidates: CTE, approximate: bool) -> ColumnElement[bool]:
    """An HNSW scan returned fewer chunks than asked: it may have stopped at
    hnsw.max_scan_tuples before reaching the matches (a selective filter); an exact scan won't."""
    return _count(candidates) < CANDIDATES if approximate else false()


def _with_details(
    ranked: Select[*tuple[Any, ...]],
    complete: ColumnElement[bool],
    short: ColumnElement[bool] | None = None,
) -> Select[Any]:
    """Join chunk text and document fields onto the k best (chunk_id, document_id, score) rows."""
    # The k best first, then the joins: the other candidates' details are never returned
    # (joining them all cost a tenth of a semantic search, bench/peers.py).
    best = ranked.selected_columns
    r = ranked.order_by(best.score.desc(), best.document_id).limit(K).subquery("ranked")
    return (
        select(
            r.c.document_id,
            Document.external_id,
            Chunk.chunk_index,
            Chunk.text,
            r.c.score,
            Document.meta.label("metadata"),
            complete.label("complete"),
            (short if short is not None else false()).label("short"),
        )
        .join(Chunk, Chunk.id == r.c.chunk_id)
        .join(Document, Document.id == r.c.document_id)
        .order_by(r.c.score.desc(), r.c.document_id)
        .limit(K)
    )


def semantic_search(
    where: ColumnElement[bool] | None = None, *, approximate: bool = True
) -> Select[Any]:
    """Nearest documents by their best chunk; score = cosine similarity."""
    candidates = semantic_candidates(where, approximate=approximate)
    # Each document's best chunk, without `_best_per_document`'s rank among documents (only
    # fusion needs it) and its materialised CTE: the documents are counted from the candidates.
    position = func.row_number().over(
        partition_by=candidates.c.document_id, order_by=candidates.c.distance
    )
    per_doc = select(candidates, position.label("pos")).subquery("semantic_per_doc")
    ranked = select(
        per_doc.c.chunk_id, per_doc.c.document_id, (1 - per_doc.c.distance).label("score")
    ).where(per_doc.c.pos == 1)
    documents = select(func.count(distinct(candidates.c.document_id))).scalar_subquery()
    complete = _enough(candidates, documents)
    return _with_details(ranked, complete, _short(candidates, approximate))


def keyword_search(
    where: ColumnElement[bool] | None = None, *, exhaustive: bool = False, native: bool = False
) -> Select[Any]:
    """Documents by the BM25 score of their best chunk; score = that BM25 score."""
    if exhaustive:
        candidates = bm25.exhaustive(where)
        best = _best_per_document(candidates, "keyword")
        complete = _enough(candidates, _count(best))
    else:
        top = bm25.top_k(where, prune=True, native=native)
        if top.certified is not None:  # bm25_top_docs: a row per document, certified there
            best, certified = top.candidates, top.certified
        else:
            best = _best_per_document(top.candidates, "keyword")
            assert top.certificate is not None
            certified = top.certificate.holds(_kth_best(best))
        # Final when certified exact, or (a large corpus) when scoring every match would cost
        # more than the approximation is worth: k documents found by the top postings.
        complete = or_(certified, and_(top.costly, _count(best) >= K))
    ranked = select(best.c.chunk_id, best.c.document_id, best.c.rank.label("score"))
    return _with_details(ranked, complete)


def _min_max(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`value` scaled to [0, 1] over its ranking (1 where the ranking's values are all equal)."""
    low, high = func.min(value).over(), func.max(value).over()
    return coalesce((value - low) / func.nullif(high - low, 0.0), 1.0)


def hybrid_search(
    where: ColumnElement[bool] | None = None, *, approximate: bool = True, native: bool = False
) -> Select[Any]:
    """Adaptive convex fusion of the semantic and BM25 document rankings (FusionParams)."""
    semantic = semantic_candidates(where, approximate=approximate)
    sem = _best_per_document(semantic, "semantic")
    # The keyword side's best ~200 chunks, scored exactly.
    kw = _documents(bm25.top_k(where, native=native), "keyword")
    depth = func.greatest(K, FUSION_DEPTH)
    sem_n = (
        select(sem.c.chunk_id, sem.c.document_id, _min_max(1 - sem.c.distance).label("s"))
        .where(sem.c.doc_rank <= depth)
        .cte("semantic_normalised")
    )
    kw_n = (
        select(kw.c.chunk_id, kw.c.document_id, kw.c.rank, kw.c.doc_rank)
        .add_columns(_min_max(kw.c.rank).label("b"))
        .where(kw.c.doc_rank <= depth)
        .cte("keyword_normalised")
    )
    best = select(func.max(kw_n.c.rank)).scalar_subquery()
    second = select(func.max(kw_n.c.rank)).where(kw_n.c.doc_rank == 2).scalar_subquery()
    gap = coalesce((best - coalesce(second, 0.0)) / func.nullif(best, 0.0), 0.0)
    alpha = ALPHA_MAX - (ALPHA_MAX - ALPHA_MIN) * gap
    # A document missing from one ranking gets nothing from it.
    score = alpha * coalesce(sem_n.c.s, 0.0) + (1 - alpha) * coalesce(kw_n.c.b, 0.0)
    fused = (
        select(
            coalesce(sem_n.c.chunk_id, kw_n.c.chunk_id).label("chunk_id"),
            coalesce(sem_n.c.document_id, kw_n.c.document_id).label("document_id"),
            score.label("score"),
        )
        .select_from(sem_n)
        .join(kw_n, sem_n.c.document_id == kw_n.c.document_id, full=True)
    )
    # The keyword side may fill k rows while the semantic side stopped short: `short` says so.
    complete = _enough(semantic, _count(sem))
    return _with_details(fused, complete, _short(semantic, approximate))
