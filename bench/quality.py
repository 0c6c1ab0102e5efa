"""Retrieval quality of pgsearch's search modes on real text that ships offline.

    uv run python -m bench.quality                    # both corpora, all modes + hybrid sweep
    uv run python -m bench.quality --corpus debian    # one corpus

Corpora (`pgsearch.evaluation`): CPython's own documentation (pydoc topics and stdlib module
docstrings, queries from their titles and summaries) and Debian package descriptions (query =
the one-line synopsis, document = the long description). Each query has one relevant document.
Documents are stored through the service layer with the built-in model, exactly as the API
stores them, in a throwaway database; a query scores a hit when its document is among the top k.
"""

from __future__ import annotations

import argparse
import time

from bench.common import bench_database
from pgsearch import db
from pgsearch.embedding import get_embedder
from pgsearch.evaluation import CORPUS_NAMES, CorpusName, Scores, load_corpus
from pgsearch.evaluation.service import evaluate, ingest
from pgsearch.search.params import FusionParams
from pgsearch.services.search import model_fusion


def run_corpus(name: CorpusName, model: str) -> list[tuple[str, Scores]]:
    """Ingest one corpus into a fresh database and score every mode and hybrid setting."""
    corpus = load_corpus(name)
    embedder = get_embedder(model)
    with bench_database(), db.get_sessionmaker().begin() as session:
        t0 = time.perf_counter()
        uid = ingest(session, corpus.docs, embedder)
        print(
            f"\n{name}: {len(corpus.docs)} documents, {len(corpus.queries)} queries, "
            f"model {embedder.name}, ingest {time.perf_counter() - t0:.1f} s"
        )
        rows: list[tuple[str, Scores]] = []
        for mode in ("semantic", "keyword"):
            rows.append((mode, evaluate(session, uid, corpus.queries, embedder, mode=mode)))
        # The service's default for this model: its own fusion, or the configured one.
        configured = model_fusion(embedder.name)
        # Fixed shares (alpha_max = alpha_min) beside the adaptive default.
        sweep = [FusionParams(alpha_max=a, alpha_min=a) for a in (0.9, 0.75, 0.5)]
        for fusion in [*(f for f in sweep if f != configured), configured]:
            scores = evaluate(session, uid, corpus.queries, embedder, mode="hybrid", fusion=fusion)
            label = f"hybrid α {fusion.alpha_max:g}→{fusion.alpha_min:g}"
            rows.append((label + (" (default)" if fusion == configured else ""), scores))
    print(f"{'mode':<30} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
    for label, s in rows:
        print(f"{label:<30} {s.r1:6.3f} {s.r5:6.3f} {s.mrr10:7.3f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--corpus", choices=CORPUS_NAMES, action="append")
    args = parser.parse_args()
    for name in args.corpus or CORPUS_NAMES:
        run_corpus(name, args.model)


if __name__ == "__main__":
    main()
