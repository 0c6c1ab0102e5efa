"""Search over one user's documents."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray
from pydantic import TypeAdapter
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pgsearch.analysis import Analyzer
from pgsearch.analysis.query import query_analyzers, query_languages
from pgsearch.config import get_settings
from pgsearch.db import AsyncConn, driver_connection, fetch_all, fetch_all_sync
from pgsearch.embedding import MODEL_FUSION, MODEL_LANGUAGES, Embedder
from pgsearch.errors import UserNotFound
from pgsearch.models import Document, User
from pgsearch.schemas import SearchHit, SearchMode, SearchRequest, SearchResponse
from pgsearch.search import query as q
from pgsearch.search.bm25 import Bm25Params
from pgsearch.search.filters import CompiledFilter, compile_filter_params
from pgsearch.search.params import FusionParams
from pgsearch.services import user_facts
from pgsearch.services.documents import check_vector
from pgsearch.services.highlight import add_highlights, highlight_step
from pgsearch.services.user_facts import Step

# Candidate chunks a widened search may rank before it settles for fewer than k documents.
MAX_CANDIDATES = 50_000


# A search is a short conversation with the database: the steps below yield each statement
# with its values and receive its rows, so one logic serves the sync session (CLI, bench,
# tests) and the async connection of the HTTP route (db.fetch_all).
Steps = Generator[Step, Sequence[Any], SearchResponse]


def search(
    session: Session,
    *,
    user_id: int,
    request: SearchRequest,
    embedder: Embedder,
    fusion: FusionParams | None = None,
    bm25_params: Bm25Params | None = None,
) -> SearchResponse:
    """Run a semantic, keyword or hybrid search; one result per document, best first.

    `fusion` weighs hybrid search (default: the configured `PGSEARCH_HYBRID_*`).
    """
    compiled = compile_filter_params(request.filter or None, Document.meta.expression)
    vector, model = _query_vector(request, embedder, embed=embedder.embed)
    steps = _steps(user_id, request, compiled, vector, model, fusion, bm25_params)
    conn = driver_connection(session.connection())
    try:
        stmt, values = next(steps)
        while True:
            stmt, values = steps.send(fetch_all_sync(conn, stmt, values))
    except StopIteration as done:
        result: SearchResponse = done.value
        return result


async def search_async(
    conn: AsyncConn, *, user_id: int, request: SearchRequest, embedder: Embedder
) -> SearchResponse:
    """`search` on an async connection: no thread unless a query text must be embedded."""
    compiled = compile_filter_params(request.filter or None, Document.meta.expression)
    vector, model = _query_vector(request, embedder, embed=None)
    if vector is None and model is not None:
        assert request.query is not None
        vector = (await anyio.to_thread.run_sync(embedder.embed, [request.query]))[0]
    steps = _steps(user_id, request, compiled, vector, model, None, None)
    try:
        stmt, values = next(steps)
        while True:
            stmt, values = steps.send(await fetch_all(conn, stmt, values))
    except StopIteration as done:
        result: SearchResponse = done.value
        return result


def _query_vector(
    request: SearchRequest,
    embedder: Embedder,
    *,
    embed: Callable[[list[str]], NDArray[np.float32]] | None,
) -> tuple[NDArray[np.float32] | None, str | None]:
    """The query's vector (embedded with `embed`; without it, None for the caller to embed)
    and the model's name when pgsearch embeds it."""
    if request.mode == "keyword":
        return None, None
    if request.vector is not None:
        return check_vector(request.vector, dim=embedder.dim, what="vector"), None
    assert request.query is not None
    return (embed([request.query])[0] if embed is not None else None), embedder.name


def _steps(
    user_id: int,
    request: SearchRequest,
    compiled: CompiledFilter,
    vector: NDArray[np.float32] | None,
    model: str | None,
    fusion: FusionParams | None,
    bm25_params: Bm25Params | None,
) -> Steps:
    # Core execution: these rows are not ORM objects, and the ORM layer would only add
    # per-query overhead. Iterative scans, ef_search and custom plans are set on every pooled
    # connection (db.py), so the search is one statement (plus, once per user and 30 s, a
    # bounded count of the user's chunks that picks its semantic path). With iterative scans,
    # HNSW keeps going past ef_search when the candidate list is longer: measured at 50k
    # vectors, k=100 gives the same recall as raising ef_search to the candidate count.
    mode: SearchMode = request.mode
    if mode == "hybrid" and request.query is None:
        mode = "semantic"  # a vector only: nothing to match keywords with
    bm25 = bm25_params or Bm25Params.from_settings()
    analyzers: list[Analyzer] = []
    languages = user_facts.Languages(user_language=None, documents={})
    if mode != "semantic" and request.query is not None:
        languages = yield from user_facts.languages(user_id)
        analyzers = query_analyzers(
            request.query,
            documents=languages.documents,
            requested=request.language,
            user_language=languages.user_language,
        )
    params = q.search_params(
        user_id=user_id,
        k=request.k,
        vector=vector,
        query=request.query,
        analyzers=analyzers,
        fusion=fusion_for(
            request.query,
            model,
            fusion,
            requested=request.language,
            documents=languages.documents,
            user_language=languages.user_language,
        ),
        bm25_params=bm25.for_fusion() if mode == "hybrid" else bm25,
    )
    # The planner's choice between the HNSW index and an exact scan of the user's chunks
    # follows its statistics, which lag behind ingest: count instead (q.semantic_candidates).
    approximate = mode != "keyword" and (yield from user_facts.is_large(user_id))
    native = mode != "semantic" and bm25.native and (yield from user_facts.native())
    params |= compiled.params
    # Almost always one statement. Another only when its result was not final: an HNSW scan
    # that stopped short (a selective filter: the exact scan finds every match), too few
    # distinct documents among the candidate chunks (long documents), or a keyword top k that
    # the top postings could not certify exact (read again deeper in C, then every match).
    plan = q.Plan(
        mode,
        params["candidates"],
        approximate=approximate,
        native=native and compiled.shape is None,
    )
    while True:
        params["candidates"] = plan.candidates
        if plan.deep:
            params |= bm25.deep(plan.candidates).params()
        stmt = q.filtered_statement(
            mode,
            compiled,
            approximate=plan.approximate,
            exhaustive=plan.exhaustive,
            native=native,
        )
        rows = yield stmt, params
        if plan.approximate and (len(rows) < request.k or rows[0].short):
            plan = replace(plan, approximate=False)
            continue
        if rows and rows[0].complete:
            break
        if mode == "keyword" and not bm25.exact and len(rows) >= request.k:
            break  # k documents from the top postings, not certified: approximate by choice
        if not rows and not (mode == "keyword" and not plan.exhaustive):
            break  # nothing matches (keyword: a filter may hide the top postings' chunks)
        if plan.candidates >= MAX_CANDIDATES:
            break
        plan = plan.wider()
    # The rows' attributes read by pydantic-core in one call: half the Python time of a
    # `model_construct` per hit (which only skips checks that rows typed by the statement pass).
    hits = _HITS.validate_python(rows, from_attributes=True)
    # No results may mean no such user: only then is the extra look-up worth it.
    if not hits and not (yield _USER_EXISTS, {"user_id": user_id}):
        raise UserNotFound(user_id)
    if hits and request.highlight and request.query is not None:
        if mode == "semantic":
            languages = yield from user_facts.languages(user_id)
        rows = yield highlight_step(hits, user_id=user_id, query=request.query, languages=languages)
        add_highlights(hits, rows)
    return SearchResponse(results=hits, mode=mode, model=model)


def fusion_for(
    query: str | None,
    model: str | None,
    fusion: FusionParams | None,
    *,
    requested: str | None = None,
    documents: Mapping[str, int] | None = None,
    user_language: str | None = None,
) -> FusionParams:
    """The hybrid fusion for a query embedded by `model` (None: the client's vector), asked in
    language `requested` (or none) by a user with `documents` (language code → count) and
    `user_language` (or none).

    `fusion` None: the model's own fusion where it brings one (`MODEL_FUSION`), unless the
    operator set `PGSEARCH_HYBRID_ALPHA_*`; else the configured one.

    A model places text of a language it was not trained on almost at random: leaning on it
    pulled hybrid below keyword search in every language MiniLM does not know (README,
    Multilingual search quality). A query that can only be in such languages leans on its
    keywords; one that may be in a language the model knows keeps the model's fusion.
    """
    fusion = fusion or model_fusion(model)
    known = MODEL_LANGUAGES.get(model) if model is not None else None
    if known is None or not query:
        return fusion
    languages = query_languages(
        query, documents=documents or {}, requested=requested, user_language=user_language
    )
    if not languages or languages & known:
        return fusion
    return fusion.keyword_led()


def model_fusion(model: str | None) -> FusionParams:
    """The hybrid fusion for queries embedded by `model`: its own (`MODEL_FUSION`), unless the
    operator set either `PGSEARCH_HYBRID_ALPHA_*`, else the configured one."""
    settings = get_settings()
    own = MODEL_FUSION.get(model) if model is not None else None
    if own is None or {"hybrid_alpha_max", "hybrid_alpha_min"} & settings.model_fields_set:
        return FusionParams.from_settings(settings)
    return FusionParams(alpha_max=own[0], alpha_min=own[1])


_USER_EXISTS = select(User.id).where(User.id == bindparam("user_id"))
_HITS = TypeAdapter(list[SearchHit])
