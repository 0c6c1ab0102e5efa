"""Keyword (BM25), hybrid and semantic search on real text, through the service layer.

Run:  uv run python -m bench.keyword           (100k chunks of man pages, ~15 min on 2 cores)
      uv run python -m bench.keyword --quick   (20k chunks, ~4 min)

On a throwaway embedded PostgreSQL: man pages (bench/manpages.py) become documents of ~800-char
chunks, embedded with wordllama (fast; the model does not matter here) and stored through
`store_documents` (triggers keep the BM25 postings), then VACUUM ANALYZE as autovacuum would.
Queries: the pages' NAME lines ("list directory contents"). Measured, passes interleaved:
- QPS, p50 and p95 of `services.search.search` per mode, one session per query from
  `db.get_read_db` as a request has; query vectors are computed beforehand, so no mode pays for
  embedding; goals as ratios to semantic in the same run;
- recall@10 of keyword documents against exact BM25 over the same lexemes, computed by `bm25s`
  (a document's score is its best chunk's), and how often each mode returned k documents;
- ingest rate and postings size per chunk (information; bench/search.py has the ingest goal).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import bm25s
import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.common import bench_database, exit_cleanly_on_sigterm, time_calls
from bench.manpages import load_manpages, manpage_chunks
from pgsearch import db
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.models import User
from pgsearch.schemas import DocumentCreate, SearchMode, SearchRequest
from pgsearch.search import query as search_query
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services import search as search_service
from pgsearch.services.documents import store_documents
from pgsearch.services.index import check_model

K = 10
GOAL_KEYWORD_QPS = 0.8
GOAL_HYBRID_QPS = 0.4
GOAL_P95_P50 = 3.0
GOAL_RECALL = 0.97
GOAL_LOW_RECALL_SHARE = 0.05  # of queries below 0.8
console = Console()


def say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def load(n: int, embedder: Embedder, *, batch_chunks: int = 2_000) -> tuple[int, float, list[str]]:
    """Store ~n chunks of man pages as one user's documents.

    Returns the user id, the chunks stored per second, and the stored pages' NAME lines.
    """
    pages = {(p.name, p.section): p for p in load_manpages()}
    chunks = manpage_chunks(n, pages=list(pages.values()))
    by_page: dict[tuple[str, str], list[str]] = {}
    for c in chunks:
        by_page.setdefault((c.name, c.section), []).append(c.text)
    with db.get_sessionmaker().begin() as session:
        check_model(session, embedder)  # records the model: the vector dimension, HNSW index
        user = User(name="bench")
        session.add(user)
        session.flush()
        uid = user.id
    docs: list[DocumentCreate] = []
    size = 0
    elapsed = 0.0

    def flush() -> None:
        nonlocal docs, size, elapsed
        texts = [c.text for d in docs for c in d.chunks or ()]
        vectors = embedder.embed(texts)
        start = 0
        for d in docs:
            for c in d.chunks or ():
                c.embedding = vectors[start].tolist()
                start += 1
        began = time.perf_counter()
        with db.get_sessionmaker().begin() as session:
            store_documents(session, user_id=uid, docs=docs, embedder=embedder, dim=embedder.dim)
        elapsed += time.perf_counter() - began
        docs, size = [], 0

    zero = [0.0] * embedder.dim
    for (name, section), texts in by_page.items():
        docs.append(
            DocumentCreate(
                text=pages[(name, section)].text,
                external_id=f"{name}.{section}",
                metadata={"section": section},
                chunks=[{"text": t, "embedding": zero} for t in texts],  # filled in flush()
            )
        )
        size += len(texts)
        if size >= batch_chunks:
            flush()
    if docs:
        flush()
    return uid, len(chunks) / elapsed, [pages[key].synopsis_line for key in by_page]


def queries(lines: Sequence[str], count: int, seed: int) -> list[str]:
    """NAME-line descriptions of the loaded pages, e.g. "list directory contents"."""
    described = [line.split(" - ", 1)[1] for line in lines if " - " in line]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(described), size=min(count, len(described)), replace=False)
    return [described[i] for i in picked if len(described[i].split()) >= 2]


@dataclass
class Truth:
    """A query's exact BM25 top K documents, and the exact scores of the best documents."""

    best: list[str]
    scores: dict[str, float]  # at least the top K's, and every document tied with them

    def hits(self, found: Sequence[str]) -> int:
        """Found documents in the exact top K, counting a document whose exact score equals
        the K-th's as one (which of tied documents make the top K is arbitrary)."""
        if not self.best:
            return 0
        kth = self.scores[self.best[-1]]
        tied = sum(
            1 for d in found if d not in self.best and self.scores.get(d, 0) >= kth * (1 - 1e-6)
        )
        return min(len(self.best), len(set(found) & set(self.best)) + tied)


def exact_bm25(uid: int, texts: Sequence[str], params: Bm25Params) -> list[Truth]:
    """The top-K documents per query by exact BM25 (bm25s over the service's own lexemes)."""
    with db.get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.external_id, array(SELECT u.lexeme FROM unnest(c.tsv) u,"
                " generate_series(1, greatest(cardinality(u.positions), 1))) AS tokens"
                " FROM chunks c JOIN documents d ON d.id = c.document_id"
                " WHERE c.user_id = :u ORDER BY c.id"
            ),
            {"u": uid},
        ).all()
        query_lexemes = [
            conn.execute(
                text("SELECT array(SELECT lexeme FROM unnest(to_tsvector('english', :q)))"),
                {"q": q},
            ).scalar_one()
            for q in texts
        ]
    doc_of = np.array([r.external_id for r in rows])
    retriever = bm25s.BM25(method="lucene", k1=params.k1, b=params.b)
    retriever.index([list(r.tokens) for r in rows], show_progress=False)
    vocab = retriever.vocab_dict
    truth: list[Truth] = []
    for lexemes in query_lexemes:
        known = [t for t in lexemes if t in vocab]
        if not known:
            truth.append(Truth([], {}))
            continue
        scores = retriever.get_scores(known)
        order = np.argsort(-scores, kind="stable")
        best: list[str] = []
        doc_scores: dict[str, float] = {}
        for i in order:
            if scores[i] <= 0:
                break
            if len(best) == K and scores[i] < doc_scores[best[-1]] * (1 - 1e-6):
                break  # past the K-th document and all tied with it
            name = str(doc_of[i])
            if name not in doc_scores:
                doc_scores[name] = float(scores[i])  # a document's best chunk comes first
                if len(best) < K:
                    best.append(name)
        truth.append(Truth(best, doc_scores))
    return truth


def caller(
    uid: int,
    mode: SearchMode,
    texts: Sequence[str],
    vectors: NDArray[np.float32],
    embedder: Embedder,
    found: dict[int, list[str]],
    params: Bm25Params,
) -> Callable[[int], object]:
    def call(i: int) -> None:
        request = SearchRequest(
            query=texts[i] if mode != "semantic" else None,
            vector=vectors[i].tolist() if mode != "keyword" else None,
            mode=mode,
            k=K,
        )
        session = db.get_read_sessionmaker()()
        try:
            response = search_service.search(
                session,
                user_id=uid,
                request=request,
                embedder=embedder,
                bm25_params=params,
            )
        finally:
            session.close()
        found[i] = [str(h.external_id) for h in response.results]

    return call


def first_statement_shares(
    uid: int, texts: Sequence[str], params: Bm25Params
) -> tuple[float, float]:
    """How many keyword searches the first statement certifies exact, and how many it ends
    (certified, or returned as the top postings found them: scoring every match would read
    more than `exhaustive_max` postings)."""
    certified = final = 0
    exact = replace(params, exhaustive_max=2**31 - 1)
    with db.get_engine().connect() as conn:
        for t in texts:
            for p, tally in ((exact, "certified"), (params, "final")):
                values = search_query.search_params(user_id=uid, k=K, query=t, bm25_params=p)
                rows = conn.execute(search_query.statement("keyword"), values).all()
                done = bool(rows and rows[0].complete)
                if tally == "certified":
                    certified += done
                else:
                    final += done
    return certified / len(texts), final / len(texts)


def percentile(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def run(args: argparse.Namespace) -> None:
    n = 20_000 if args.quick else args.n
    passes = 3 if args.quick else args.passes
    env = {"PGSEARCH_EMBEDDING_MODEL": "wordllama"}
    with bench_database(env) as database:
        embedder = get_embedder("wordllama")
        say(f"loading {n:,} chunks of man pages (wordllama vectors, store_documents)")
        uid, rate, lines = load(n, embedder)
        with database.connect() as conn:
            conn.execute("VACUUM ANALYZE")
            facts = conn.execute(
                "SELECT (SELECT count(*) FROM chunks), (SELECT count(*) FROM documents),"
                " pg_total_relation_size('bm25_postings'), (SELECT count(*) FROM bm25_postings)"
            ).fetchone()
        assert facts is not None
        chunks, documents, postings_bytes, postings = facts
        say(
            f"{chunks:,} chunks in {documents:,} documents; ingest {rate:,.0f} chunks/s;"
            f" postings {postings / chunks:.1f} and {postings_bytes / chunks:,.0f} B per chunk"
        )
        texts = queries(lines, args.queries, args.seed)
        vectors = embedder.embed(texts)
        say(f"{len(texts)} queries; exact BM25 with bm25s")
        truth = exact_bm25(uid, texts, Bm25Params())

        modes: tuple[SearchMode, ...] = ("semantic", "keyword", "hybrid")
        found: dict[str, dict[int, list[str]]] = {m: {} for m in modes}
        params = Bm25Params(
            per_term=args.per_term,
            rescore=args.rescore,
            exact=not args.approximate,
            exhaustive_max=args.exhaustive_max,
        )
        calls = {m: caller(uid, m, texts, vectors, embedder, found[m], params) for m in modes}
        for m in modes:  # warm-up: caches, prepared statements
            time_calls(calls[m], min(len(texts), 30))
        runs: dict[str, list[list[float]]] = {m: [] for m in modes}
        for p in range(passes):
            for m in modes:
                runs[m].append(time_calls(calls[m], len(texts)).seconds)
            say(f"pass {p + 1}/{passes} done")
        certified, final = first_statement_shares(uid, texts, params)
        report(args, n=chunks, texts=texts, truth=truth, found=found, runs=runs)
        console.print(
            f"keyword top k certified exact by the top postings alone: {certified:.0%} of"
            f" queries; returned uncertified (scoring every match would read more than"
            f" {params.exhaustive_max:,} postings): {final - certified:.0%}; the others scored"
            " every matching chunk"
        )


def report(
    args: argparse.Namespace,
    *,
    n: int,
    texts: Sequence[str],
    truth: list[Truth],
    found: dict[str, dict[int, list[str]]],
    runs: dict[str, list[list[float]]],
) -> None:
    table = Table(
        title=f"search at {n:,} chunks of man pages, k={K}, {len(texts)} queries,"
        f" BM25 top {args.per_term} postings per term, {args.rescore} re-scored,"
        f" exhaustive up to {args.exhaustive_max:,} postings"
        + (", approximate" if args.approximate else "")
    )
    for col in ("mode", "QPS", "p50 ms", "p95 ms", "p95/p50", "vs semantic", "k results"):
        table.add_column(col, justify="right")
    qps: dict[str, float] = {}
    tail: dict[str, float] = {}
    for m, passes in runs.items():
        # The pass with the median QPS.
        chosen = sorted(passes, key=lambda s: sum(s))[(len(passes) - 1) // 2]
        qps[m] = len(chosen) / sum(chosen)
        p50, p95 = percentile(chosen, 50), percentile(chosen, 95)
        tail[m] = p95 / p50
        full = sum(1 for r in found[m].values() if len(r) == K) / len(found[m])
        table.add_row(
            m,
            f"{qps[m]:.0f}",
            f"{p50:.2f}",
            f"{p95:.2f}",
            f"{tail[m]:.2f}",
            f"{qps[m] / qps['semantic']:.2f}",
            f"{full:.0%}",
        )
    console.print(table)
    recalls, strict = [], []
    for i, t in enumerate(truth):
        if not t.best:
            continue
        recalls.append(t.hits(found["keyword"][i]) / len(t.best))
        strict.append(len(set(found["keyword"][i]) & set(t.best)) / len(t.best))
    mean = statistics.fmean(recalls)
    low = sum(1 for r in recalls if r < 0.8) / len(recalls)
    console.print(
        f"keyword recall@{K} vs exact BM25 (bm25s), a document tied with the {K}-th counting:"
        f" mean {mean:.3f}, {low:.1%} of {len(recalls)} queries below 0.8; counting only"
        f" bm25s's own pick among tied documents: mean {statistics.fmean(strict):.3f},"
        f" {sum(1 for r in strict if r < 0.8) / len(strict):.1%} below 0.8"
    )
    goals = [
        ("keyword QPS ≥ 0.8× semantic", qps["keyword"] / qps["semantic"] >= GOAL_KEYWORD_QPS),
        ("hybrid QPS ≥ 0.4× semantic", qps["hybrid"] / qps["semantic"] >= GOAL_HYBRID_QPS),
        ("p95 ≤ 3× p50 in each mode", all(t <= GOAL_P95_P50 for t in tail.values())),
        (f"mean recall@{K} ≥ {GOAL_RECALL}", mean >= GOAL_RECALL),
        ("≤ 5 % of queries below recall 0.8", low <= GOAL_LOW_RECALL_SHARE),
    ]
    for name, ok in goals:
        console.print(f"{'[green]met' if ok else '[red]missed'}[/]  {name}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="chunks of man pages")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passes", type=int, default=5, help="timed passes (median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20k chunks, 3 passes")
    defaults = Bm25Params()
    parser.add_argument("--per-term", type=int, default=defaults.per_term, help="BM25 postings")
    parser.add_argument("--rescore", type=int, default=defaults.rescore, help="BM25 re-scored")
    parser.add_argument(
        "--exhaustive-max",
        type=int,
        default=defaults.exhaustive_max,
        help="BM25: postings the exhaustive fallback may read",
    )
    parser.add_argument(
        "--approximate", action="store_true", help="keyword: no exhaustive fallback"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    exit_cleanly_on_sigterm()
    began = time.perf_counter()
    run(args)
    say(f"done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
