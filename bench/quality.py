"""Retrieval quality of pgsearch's search modes on real text that ships offline.

    uv run python -m bench.quality            # all modes + hybrid weight sweep

The corpus (bench/corpus.py) is CPython's own documentation: pydoc topics and stdlib module
docstrings, with queries made from their titles and summaries (each query has one relevant
document). Documents are stored through the service layer with the built-in model, exactly as
the API stores them; a query scores a hit when its document is among the top k results.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bench.common import bench_database
from bench.corpus import CorpusDoc, CorpusQuery, load_corpus
from pgsearch import db
from pgsearch.config import Settings
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.models import User
from pgsearch.schemas import DocumentCreate, SearchMode, SearchRequest
from pgsearch.search.params import FusionParams
from pgsearch.services.documents import store_documents
from pgsearch.services.search import search


@dataclass(frozen=True)
class Scores:
    """Recall@1, recall@5 and MRR@10 over a query set."""

    r1: float
    r5: float
    mrr10: float


def ingest(session: Session, docs: Sequence[CorpusDoc], embedder: Embedder) -> int:
    """Store the corpus for a new user; returns the user id."""
    user = User(name="bench")
    session.add(user)
    session.flush()
    for start in range(0, len(docs), 100):
        batch = [
            DocumentCreate(text=d.text, external_id=d.id, metadata=d.metadata)
            for d in docs[start : start + 100]
        ]
        store_documents(session, user_id=user.id, docs=batch, embedder=embedder, dim=embedder.dim)
    return user.id


def evaluate(
    session: Session,
    user_id: int,
    queries: Sequence[CorpusQuery],
    embedder: Embedder,
    *,
    mode: SearchMode,
    fusion: FusionParams | None = None,
) -> Scores:
    """Run every query through the search service and score the rankings."""
    r1 = r5 = mrr = 0.0
    for q in queries:
        response = search(
            session,
            user_id=user_id,
            request=SearchRequest(query=q.text, mode=mode, k=10),
            embedder=embedder,
            fusion=fusion,
        )
        ranked = [hit.external_id for hit in response.results]
        if q.relevant_id in ranked:
            pos = ranked.index(q.relevant_id)
            r1 += pos == 0
            r5 += pos < 5
            mrr += 1 / (pos + 1)
    n = len(queries)
    return Scores(r1 / n, r5 / n, mrr / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    args = parser.parse_args()
    docs, queries = load_corpus()
    embedder = get_embedder(args.model)
    with bench_database(), db.get_sessionmaker().begin() as session:
        t0 = time.perf_counter()
        uid = ingest(session, docs, embedder)
        print(
            f"{len(docs)} documents, {len(queries)} queries, model {embedder.name}, "
            f"ingest {time.perf_counter() - t0:.1f} s"
        )
        rows: list[tuple[str, Scores]] = []
        for mode in ("semantic", "keyword"):
            rows.append((mode, evaluate(session, uid, queries, embedder, mode=mode)))
        defaults = Settings()
        sweep = [(1.0, 1.0, 60), (1.0, 0.5, 60), (1.0, 0.5, 5), (1.0, 0.3, 5), (1.0, 0.3, 1)]
        sweep.append(
            (defaults.hybrid_semantic_weight, defaults.hybrid_keyword_weight, defaults.hybrid_rrf_k)
        )
        for sw, kw, rrf_k in sweep:
            scores = evaluate(
                session,
                uid,
                queries,
                embedder,
                mode="hybrid",
                fusion=FusionParams(semantic_weight=sw, keyword_weight=kw, rrf_k=rrf_k),
            )
            name = f"hybrid {sw:g}:{kw:g} k={rrf_k}"
            rows.append((name + (" (default)" if (sw, kw, rrf_k) == sweep[-1] else ""), scores))
        print(f"{'mode':<30} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
        for name, s in rows:
            print(f"{name:<30} {s.r1:6.3f} {s.r5:6.3f} {s.mrr10:7.3f}")


if __name__ == "__main__":
    main()
