"""Okapi BM25 over the lexemes of PostgreSQL text search, per user, as SQL expressions.

score(chunk) = Σ over the query's distinct terms t of idf(t) · tf·(k1 + 1) / (tf + k1·L),
    L = 1 − b + b·length/avgdl,  idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5)),
with tf the term's occurrences in the chunk, length the chunk's lexeme occurrences, and N, df and
avgdl the statistics of the user's own chunks (`bm25_stats`, `bm25_df`).

Postings store each (chunk, term)'s *impact* (the fraction above, made with the k1, b and avgdl
recorded in the user's `bm25_stats` row) in an index ordered by impact. A query reads the top
postings of each term (`per_term` for the rarest, fewer for a more frequent one: see
`_query_terms`), bounds what every chunk can score, re-scores the best
`rescore` chunks exactly (from tf and length, with the current statistics and k1, b), and
certifies the result: when the k-th document's exact score is at least the bound of every chunk
not re-scored, the top k is exact. Otherwise the service runs the exhaustive form.

Where the database has pgsearch's C extension (pgsearch.native), `bm25_top_docs` reads the top
postings, bounds the chunks and scores the best exactly, in the order of their bounds, until
none left can reach the top k: the same scores, at a fraction of the executor's cost. A
statement with a metadata filter keeps the SQL form (the filter joins each chunk's document
before the bounds are ranked).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, get_args

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Double,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import coalesce

from pgsearch.analysis import (
    ANALYZERS,
    DEFAULT_LANGUAGE,
    Analyzer,
    analyzer_for,
    normalize,
    query_forms,
)
from pgsearch.analysis.languages import Segmenter
from pgsearch.config import get_settings
from pgsearch.models import Bm25Df, Bm25Stats, Chunk, Document, bm25_postings, postings_by_impact

USER_ID = bindparam("user_id", type_=Integer)
QUERY_TEXT = bindparam("query_text", type_=Text)
QUERY_ANALYZERS = bindparam("query_analyzers", type_=ARRAY(Text))
QUERY_CONFIGS = bindparam("query_configs", type_=ARRAY(Text))
# The query as each segmenting analyzer reads it (NULL: nothing for it to segment).
_SEGMENTED: dict[Segmenter, BindParameter[str]] = {
    s: bindparam(f"query_{s}", type_=Text) for s in get_args(Segmenter)
}
_FORMS = [(a.name, _SEGMENTED[a.segmenter]) for a in ANALYZERS.values() if a.segmenter]
K = bindparam("k", type_=Integer)
CANDIDATES = bindparam("candidates", type_=Integer)
K1 = bindparam("bm25_k1", type_=Double)
B = bindparam("bm25_b", type_=Double)
PER_TERM = bindparam("bm25_per_term", type_=Integer)
RESCORE = bindparam("bm25_rescore", type_=Integer)
EXHAUSTIVE_MAX = bindparam("bm25_exhaustive_max", type_=Integer)

P = bm25_postings.c
# The chunks' primary key, by which bm25_top_docs looks the chosen chunks up.
_CHUNKS_KEY = typing.cast(Table, Chunk.__table__).primary_key.name


# The least share of `per_term` postings read for any query term.
DEPTH_FLOOR = 0.2
# `per_term` is the depth for a user of this many chunks; a larger one reads more (∝ √chunks).
DEPTH_REFERENCE_CHUNKS = 100_000

# Hybrid search's BM25 sizes (bench/keyword.py, bench/quality.py).
FUSION_PER_TERM = 300
FUSION_RESCORE = 100


@dataclass(frozen=True)
class Bm25Params:
    """BM25's parameters and the sizes of the top-k search."""

    k1: float = 1.2
    b: float = 0.75
    # Postings read for the query's rarest term (others in proportion to their IDF, at least
    # DEPTH_FLOOR of it; more for a user above DEPTH_REFERENCE_CHUNKS), and chunks re-scored
    # exactly (measured: bench/keyword.py).
    per_term: int = 6000
    rescore: int = 300
    # False: a top k the top postings cannot certify is returned as it is (approximate), instead
    # of scoring every chunk that holds a query term.
    exact: bool = True
    # With `exact`, scoring every chunk that holds a query term reads the postings of every
    # query term (Σ df); above this many, an uncertified top k is returned as it is.
    exhaustive_max: int = 20_000
    # Top postings read by pgsearch_bm25 when the database has it (pgsearch.native).
    native: bool = True

    def for_fusion(self) -> Bm25Params:
        """Smaller sizes for hybrid search, whose fusion reads only BM25's best documents
        (query.FUSION_DEPTH), never certified: the top postings' best are what it needs."""
        return replace(
            self,
            per_term=min(self.per_term, FUSION_PER_TERM),
            rescore=min(self.rescore, FUSION_RESCORE),
        )

    def deep(self, candidates: int) -> Bm25Params:
        """Sizes for reading a keyword query again when its top k was not certified: deep
        enough that every list the exhaustive form would read (at most `exhaustive_max`
        postings in all) is read whole, even at DEPTH_FLOOR, so that nothing is left unseen,
        and at least the exhaustive form's `candidates` chunks scored."""
        return replace(
            self,
            per_term=math.ceil(self.exhaustive_max / DEPTH_FLOOR),
            rescore=max(self.rescore, candidates),
        )

    @classmethod
    def from_settings(cls) -> Bm25Params:
        """k1, b, exactness and the C extension's use as configured (`PGSEARCH_BM25_*`)."""
        settings = get_settings()
        return cls(
            k1=settings.bm25_k1,
            b=settings.bm25_b,
            exact=settings.bm25_exact,
            exhaustive_max=settings.bm25_exhaustive_max,
            native=settings.bm25_native,
        )

    def params(self) -> dict[str, Any]:
        """Values for the bound parameters of the statements here."""
        return {
            "bm25_k1": self.k1,
            "bm25_b": self.b,
            "bm25_per_term": self.per_term,
            "bm25_rescore": self.rescore,
            "bm25_exhaustive_max": self.exhaustive_max if self.exact else 0,
        }


def _analysed() -> FromClause:
    """The query's text analysed (`tsv`) by each of its analyzers (`query_params`).

    Python prepares the text; a CJK analyzer reads its segmented form.
    """
    analyzers = (
        func.unnest(QUERY_ANALYZERS, QUERY_CONFIGS)
        .table_valued("analyzer", "config")
        .render_derived("query_analyzers")
    )
    text = case(
        *((analyzers.c.analyzer == name, coalesce(form, QUERY_TEXT)) for name, form in _FORMS),
        else_=QUERY_TEXT,
    )
    tsv = func.to_tsvector(cast(analyzers.c.config, REGCONFIG), text)
    return select(tsv.label("tsv")).select_from(analyzers).subquery("analysed")


def analyze() -> FromClause:
    """The query's lexemes and their terms (`lexeme`, `term`), of all its analyses
    (`_analysed`).

    Terms are hashed lexemes (as `bm25_terms` hashes a chunk's), so the terms of different
    analyzers mix in one BM25 query: a collection in several languages loses no documents to a
    wrong guess of the query's.
    """
    lexemes = _lexeme_rows().subquery()
    term = func.hashtextextended(lexemes.c.lexeme, 0)
    return select(lexemes.c.lexeme, term.label("term")).subquery()


def query_params(query: str | None, analyzers: Sequence[Analyzer] = ()) -> dict[str, Any]:
    """Values of the query-text parameters of `analyze()`: the query as each of `analyzers`
    reads it (default: the default language's)."""
    analyzers = analyzers or (analyzer_for(DEFAULT_LANGUAGE),)
    segmenters = {a.segmenter for a in analyzers if a.segmenter is not None}
    forms = query_forms(query, segmenters) if query is not None and segmenters else {}
    return {
        "query_text": normalize(query) if query is not None else None,
        "query_analyzers": [a.name for a in analyzers],
        "query_configs": [a.config for a in analyzers],
        **{param.key: forms.get(segmenter) for segmenter, param in _SEGMENTED.items()},
    }


def _stats() -> CTE:
    """The user's N, avgdl, the drift bound of stored impacts, and whether k1 and b match."""
    s = Bm25Stats
    avgdl = cast(s.length, Double) / s.chunks
    return (
        select(
            cast(s.chunks, Double).label("n"),
            # tf·(k1+1) / (tf + k1·(1 − b + b·length/avgdl)) as tf·(k1+1) / (tf + norm0 + norm1·l)
            (K1 * (1 - B)).label("norm0"),
            (K1 * B / avgdl).label("norm1"),
            # Impacts made with a smaller avgdl are at most avgdl/impact_avgdl times too small.
            func.greatest(1.0, avgdl / func.nullif(s.impact_avgdl, 0)).label("drift"),
            and_(s.k1 == K1, s.b == B).label("same_params"),
        )
        .where(s.user_id == USER_ID, s.length > 0)
        .cte("bm25_now")
    )


def _query_terms(stats: CTE, *, cut: bool = False, native: bool = False) -> CTE:
    """The query's distinct terms that occur in the user's chunks: their IDF `w`, and what
    scoring a posting needs (`wa`, `norm0`, `norm1`: see `_score`), so that no per-posting join
    with the statistics is needed.

    `cut`: also how many of the term's top postings to read (`depth`: `per_term`, times
    √(chunks / DEPTH_REFERENCE_CHUNKS) for a larger user, times its IDF over the highest IDF of
    the query), whether its list is longer than that (`cut`), and then
    `w` times its depth-th best impact (`cutw`): what a chunk missing from its top postings can
    at most get from it (0 when the list is read to its end). `native`: the depth only
    (`bm25_top_docs` finds the cut while it reads).
    """
    terms = analyze()
    # LATERAL: a primary-key look-up per query term, where a join may scan all the user's
    # terms (the planner cannot tell how few terms a query has); the inner join drops the
    # terms no chunk of the user's holds.
    df_of = (
        select(Bm25Df.df)
        .where(Bm25Df.user_id == USER_ID, Bm25Df.term == terms.c.term)
        .lateral("term_df")
    )
    found = (
        select(terms.c.lexeme, terms.c.term, cast(df_of.c.df, Double).label("df"))
        .select_from(terms)
        .join(df_of, true())
        .distinct()
        .subquery("query_df")
    )
    idf = func.ln(1 + (stats.c.n - found.c.df + 0.5) / (found.c.df + 0.5))
    columns: list[Any] = [
        found.c.lexeme,
        found.c.term,
        found.c.df,
        stats.c.n,
        idf.label("w"),
        (idf * (K1 + 1)).label("wa"),
        stats.c.norm0,
        stats.c.norm1,
        stats.c.drift,
        stats.c.same_params,
    ]
    weighted = select(*columns).select_from(found).join(stats, true())
    if not cut:
        return weighted.cte("bm25_terms").prefix_with("MATERIALIZED")
    # Depth in proportion to the term's IDF: a frequent term's postings add little to any
    # score, a rare term's list is short anyway.
    w = weighted.subquery("bm25_weighted")
    # ... and to the square root of the user's size: lists grow with the chunks, and reading a
    # fixed number of postings from each lost recall as they did (bench.keyword --large).
    deepest = PER_TERM * func.greatest(1.0, func.sqrt(w.c.n / DEPTH_REFERENCE_CHUNKS))
    depth = cast(
        func.ceil(func.greatest(deepest * DEPTH_FLOOR, deepest * w.c.w / func.max(w.c.w).over())),
        Integer,
    )
    if native:
        # No deeper than the list (df counts its postings): bm25_top_docs sizes its table of
        # chunks by the depths.
        read = func.least(depth, cast(w.c.df, Integer))
        return select(w, read.label("depth")).cte("bm25_terms").prefix_with("MATERIALIZED")
    deep = select(w, depth.label("depth")).subquery("bm25_deep")
    nth = (
        select(P.impact)
        .where(P.user_id == USER_ID, P.term == deep.c.term)
        .order_by(P.impact.desc())
        .offset(deep.c.depth - 1)
        .limit(1)
        .scalar_subquery()
    )
    is_cut = deep.c.df > deep.c.depth
    return (
        select(
            deep,
            is_cut.label("cut"),
            case((is_cut, deep.c.w * nth), else_=0.0).label("cutw"),
        )
        .cte("bm25_terms")
        .prefix_with("MATERIALIZED")
    )


def _score(terms: CTE, tf: ColumnElement[Any], length: ColumnElement[Any]) -> ColumnElement[Any]:
    """A posting's exact BM25 weight (IDF included) with the current statistics and k1, b."""
    return terms.c.wa * tf / (tf + terms.c.norm0 + terms.c.norm1 * length)


def _with_document(
    stmt: Select[Any], chunk_id: ColumnElement[int], where: ColumnElement[bool] | None
) -> Select[Any]:
    """Add each chunk's document id (and drop chunks of documents not matching `where`).

    A LATERAL look-up by primary key: a few hundred chunks, where a join would let the planner
    scan every chunk.
    """
    doc = select(Chunk.document_id).where(Chunk.id == chunk_id)
    if where is not None:
        doc = doc.join(Document, Document.id == Chunk.document_id).where(where)
    found = doc.lateral("chunk_document")
    return stmt.add_columns(found.c.document_id).join(found, true())


def _filtered(
    stmt: Select[Any], chunk_id: ColumnElement[int], where: ColumnElement[bool] | None
) -> Select[Any]:
    """Add each chunk's document id, and restrict to documents matching a metadata filter."""
    stmt = stmt.add_columns(Chunk.document_id).join(Chunk, Chunk.id == chunk_id)
    if where is not None:
        stmt = stmt.join(Document, Document.id == Chunk.document_id).where(where)
    return stmt


@dataclass
class TopK:
    """The keyword candidates (chunk_id, document_id, rank) and whether they are final."""

    # Chunks, or (`per_document`) each document's best chunk, best first.
    candidates: CTE
    # SQL: whether scoring every match instead would read more than `exhaustive_max` postings.
    costly: ColumnElement[bool]
    # SQL for "these candidates hold the exact top k documents", given the k-th document's
    # score (the SQL form's)...
    certificate: Certificate | None = None
    # ... or as bm25_top_docs found it, its candidates one per document.
    certified: ColumnElement[bool] | None = None

    @property
    def per_document(self) -> bool:
        return self.certified is not None


def _lexeme_rows() -> Select[Any]:
    """The query's lexemes (text, a row each, of all its analyses), to pick them out of a
    chunk's `tsv`."""
    analysed = _analysed()
    lexeme = (
        func.unnest(func.tsvector_to_array(analysed.c.tsv)).table_valued("lexeme").render_derived()
    )
    return select(lexeme.c.lexeme).select_from(analysed).join(lexeme, true())


def _query_lexemes(terms: CTE) -> CTE:
    """The lexemes of the query's terms in one array, for the SQL form's exact score (from
    the terms' rows: the query is analysed once).

    A CTE joined in, not a subquery in the call: PostgreSQL inlines `bm25_terms` only when
    its argument holds no subquery.
    """
    return (
        select(func.array_agg(terms.c.lexeme).label("lexemes"))
        .cte("bm25_lexemes")
        .prefix_with("MATERIALIZED")
    )


def _native_top_k(stats: CTE, *, prune: bool) -> TopK:
    """The top postings read, bounded and the best `RESCORE` + 1 chunks scored exactly by
    pgsearch_bm25's `bm25_top_docs` (the same scores as the SQL form of `top_k`), each
    document's best, best first.

    It scores in the order of the bounds and, with `prune`, stops at the first chunk whose bound
    cannot reach the k-th document scored so far: that one and all after it are hopeless.
    """
    terms = _query_terms(stats, cut=True, native=True)
    # Pruning compares exact scores with bounds made from stored impacts: only while those
    # were made with the k1 and b in use (then scores are at most drift x bounds).
    stop = case((terms.c.same_params, terms.c.drift), else_=None) if prune else null()
    # The function's arguments in one row: arrays aggregated side by side over the same rows
    # are aligned, with no sort and no scan of the terms per array.
    args = (
        select(
            func.array_agg(terms.c.term).label("terms"),
            func.array_agg(terms.c.w).label("weights"),
            func.array_agg(terms.c.depth).label("depths"),
            func.array_agg(terms.c.lexeme).label("lexemes"),
            func.array_agg(terms.c.wa).label("lexeme_weights"),
            func.max(terms.c.norm0).label("norm0"),
            func.max(terms.c.norm1).label("norm1"),
            cast(func.max(stop), Double).label("stop"),
            func.sum(terms.c.df).label("matches"),
        )
        .cte("bm25_args")
        .prefix_with("MATERIALIZED")
    )
    read = (
        func.bm25_top_docs(
            literal_column(f"'{postings_by_impact.name}'::regclass"),
            USER_ID,
            args.c.terms,
            args.c.weights,
            args.c.depths,
            RESCORE + 1,
            literal_column(f"'{_CHUNKS_KEY}'::regclass"),
            args.c.lexemes,
            args.c.lexeme_weights,
            args.c.norm0,
            args.c.norm1,
            K,
            args.c.stop,
        )
        .table_valued("chunk_id", "document_id", "score", "certified")
        .render_derived("bm25_read")
    )
    scored = (
        select(read.c.chunk_id, read.c.document_id, read.c.score.label("rank"), read.c.certified)
        .select_from(args)
        .join(read, true())
        .cte("keyword_candidates")
        .prefix_with("MATERIALIZED")
    )
    # Every row carries the same answer (none: no chunk scored, nothing to certify).
    certified = coalesce(select(scored.c.certified).limit(1).scalar_subquery(), False)
    return TopK(
        scored, select(args.c.matches > EXHAUSTIVE_MAX).scalar_subquery(), certified=certified
    )


def top_k(where: ColumnElement[bool] | None, *, prune: bool = False, native: bool = False) -> TopK:
    """Candidates from the top postings of each term, the best of them scored exactly.

    `prune`: score the best quarter first; of the rest, only chunks whose bound reaches the
    k-th document found so far (the others cannot be in the top k, certified or not).
    `native`: the top postings read and bounded by pgsearch_bm25 (no metadata filter only).
    """
    stats = _stats()
    if native and where is None:
        return _native_top_k(stats, prune=prune)
    terms = _query_terms(stats, cut=True)
    postings = (
        select(P.chunk_id, P.impact, P.length)  # all in the index: an index-only scan
        .where(P.user_id == USER_ID, P.term == terms.c.term)
        .order_by(P.impact.desc())
        .limit(terms.c.depth)
        .lateral("top_postings")
    )
    unseen = select(coalesce(func.sum(terms.c.cutw), 0.0)).scalar_subquery()
    # Per chunk read, its upper bound: what it has, plus the cut of the lists it is missing
    # from (each list's cut is in `unseen`; a list it is in gives impact instead of cut).
    bounded = (
        select(
            postings.c.chunk_id,
            (func.sum(terms.c.w * postings.c.impact - terms.c.cutw) + unseen).label("bound"),
            func.max(postings.c.length).label("length"),
        )
        .select_from(terms)
        .join(postings, true())
        .group_by(postings.c.chunk_id)
    )
    if where is not None:  # only chunks of matching documents compete
        b = bounded.subquery("bm25_bounded")
        bounded = _with_document(select(b), b.c.chunk_id, where)
    bounds = bounded.cte("bm25_bounds").prefix_with("MATERIALIZED")
    # One past `rescore`: its bound is what any chunk not chosen can reach (choosing one more
    # costs less than a second sort of the bounds to find it).
    top = (
        select(bounds.c.chunk_id, bounds.c.length, bounds.c.bound)
        .order_by(bounds.c.bound.desc(), bounds.c.chunk_id)
        .limit(RESCORE + 1)
        .subquery("bm25_top")
    )
    return _scored(stats, terms, _positions(top), unseen, prune=prune)


def _positions(top: FromClause) -> CTE:
    """The chosen chunks with their place by bound (`pos`, 1 = highest; ties by chunk id, in
    both forms, so that they choose and prune the same chunks)."""
    order = (top.c.bound.desc(), top.c.chunk_id)
    return (
        select(top, func.row_number().over(order_by=order).label("pos"))
        .cte("bm25_chosen")
        .prefix_with("MATERIALIZED")
    )


def _scored(stats: CTE, terms: CTE, chosen: CTE, unseen: Any, *, prune: bool) -> TopK:
    """The chosen chunks (`chunk_id, length, bound, pos`) scored exactly, and the certificate
    of the top k they give (`unseen`: what a chunk read for no term can reach)."""
    next_bound = select(
        case((func.count() > RESCORE, func.min(chosen.c.bound)), else_=0.0)
    ).scalar_subquery()
    # Exact scores from each chosen chunk's own lexemes: its `tsv` narrowed to the query's
    # lexemes (marked with weight A, then kept) gives the tf of every query term it holds,
    # with no look-up of postings a cut list may have left out.
    lexemes = _query_lexemes(terms)
    held = func.bm25_terms(
        func.ts_filter(
            func.setweight(Chunk.tsv, literal_column("'A'::\"char\""), lexemes.c.lexemes),
            literal_column("'{a}'::\"char\"[]"),
        )
    ).table_valued("term", "tf")
    exact = (
        select(func.sum(_score(terms, held.c.tf, chosen.c.length)).label("rank"))
        .select_from(held)
        .join(terms, terms.c.term == held.c.term)
        .lateral("bm25_exact")
    )
    rank = exact.c.rank
    query_side = lexemes.join(exact, true())

    def rescored(which: ColumnElement[bool] | None) -> Select[Any]:
        stmt = (
            select(chosen.c.chunk_id, Chunk.document_id, rank.label("rank"))
            .select_from(chosen)
            .join(Chunk, Chunk.id == chosen.c.chunk_id)
            .join(query_side, true())
        )
        return stmt if which is None else stmt.where(which)

    drift = select(stats.c.drift).scalar_subquery()
    same = select(stats.c.same_params).scalar_subquery()
    if not prune:
        scored = rescored(None).cte("keyword_candidates").prefix_with("MATERIALIZED")
    else:
        first = rescored(chosen.c.pos <= RESCORE / 4).cte("bm25_first").prefix_with("MATERIALIZED")
        per_doc = (
            select(func.max(first.c.rank).label("rank"))
            .group_by(first.c.document_id)
            .subquery("bm25_first_docs")
        )
        kth = coalesce(
            select(per_doc.c.rank)
            .order_by(per_doc.c.rank.desc())
            .offset(K - 1)
            .limit(1)
            .scalar_subquery(),
            0.0,
        )
        # A chunk's exact score is at most drift x its bound (float rounding aside): below
        # the k-th document already scored, it cannot enter the top k.
        hopeless = and_(same, drift * chosen.c.bound * (1 + 1e-6) < kth)
        rest = rescored(and_(chosen.c.pos > RESCORE / 4, ~coalesce(hopeless, False)))
        scored = select(first).union_all(rest).cte("keyword_candidates").prefix_with("MATERIALIZED")
    # What any chunk not scored can reach: one row, read twice by the certificate.
    outside = (
        select(func.greatest(unseen, next_bound).label("outside"))
        .cte("bm25_outside")
        .prefix_with("MATERIALIZED")
    )
    matches = select(func.sum(terms.c.df)).scalar_subquery()
    return TopK(
        scored,
        matches > EXHAUSTIVE_MAX,
        certificate=Certificate(
            outside=select(outside.c.outside).scalar_subquery(), drift=drift, same=same
        ),
    )


@dataclass
class Certificate:
    outside: ScalarSelect[Any]
    drift: ScalarSelect[Any]
    same: ScalarSelect[Any]

    def holds(self, kth_score: ScalarSelect[Any]) -> ColumnElement[bool]:
        """Every chunk read was scored, or the k-th document beats all that were not."""
        return coalesce(
            or_(
                self.outside == 0,
                # Impacts are stored as 4-byte floats: without the slack, a k-th score equal to
                # the bound (ties are common) would fail now and then on rounding alone.
                and_(self.same, kth_score >= self.drift * self.outside * (1 - 1e-6)),
            ),
            False,
        )


def exhaustive(where: ColumnElement[bool] | None) -> CTE:
    """Every chunk holding a query term, scored exactly; the best `candidates` of them."""
    stats = _stats()
    terms = _query_terms(stats)
    scores = (
        select(P.chunk_id, func.sum(_score(terms, P.tf, P.length)).label("rank"))
        .select_from(terms)
        .join(bm25_postings, and_(P.user_id == USER_ID, P.term == terms.c.term))
        .group_by(P.chunk_id)
    )
    r = scores.subquery("bm25_scores")
    if where is None:
        # Only the best chunks need their document looked up.
        r = select(r).order_by(r.c.rank.desc()).limit(CANDIDATES).subquery("bm25_ranked")
        stmt = _with_document(select(r.c.chunk_id, r.c.rank), r.c.chunk_id, None)
    else:
        # A join: the planner may start from the (few) documents the filter matches.
        stmt = _filtered(select(r.c.chunk_id, r.c.rank), r.c.chunk_id, where)
        stmt = stmt.order_by(r.c.rank.desc()).limit(CANDIDATES)
    return stmt.cte("keyword_candidates").prefix_with("MATERIALIZED")


def refresh_impacts(session: Session, *, user_id: int, params: Bm25Params) -> bool:
    """Re-make the user's impacts if k1 or b changed or avgdl drifted by more than 10 %.

    Scores never depend on stored impacts (they are re-computed from tf and length); impacts
    only choose the candidates, so a small drift costs a little pruning, never exactness.
    """
    s = Bm25Stats
    avgdl = cast(s.length, Double) / s.chunks
    changed = (
        update(s)
        .where(
            s.user_id == user_id,
            s.length > 0,
            or_(
                s.k1 != params.k1,
                s.b != params.b,
                func.abs(avgdl / func.nullif(s.impact_avgdl, 0) - 1) > 0.1,
                s.impact_avgdl == 0,
            ),
        )
        .values(k1=params.k1, b=params.b, impact_avgdl=avgdl)
        .returning(s.impact_avgdl)
    )
    new_avgdl = session.execute(changed).scalar_one_or_none()
    if new_avgdl is None:
        return False
    k1, b = params.k1, params.b
    session.execute(
        update(bm25_postings)
        .where(P.user_id == user_id)
        .values(impact=P.tf * (k1 + 1) / (P.tf + k1 * (1 - b + b * P.length / new_avgdl)))
    )
    return True


def refresh_all_impacts(session: Session, params: Bm25Params) -> int:
    """`refresh_impacts` for every user whose impacts were made with another k1 or b."""
    stale = session.scalars(
        select(Bm25Stats.user_id)
        .where(or_(Bm25Stats.k1 != params.k1, Bm25Stats.b != params.b))
        .order_by(Bm25Stats.user_id)
    ).all()
    for user_id in stale:
        refresh_impacts(session, user_id=user_id, params=params)
    return len(stale)
