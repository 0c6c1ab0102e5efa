"""Retrieval quality on real text nobody here wrote (CPython's documentation), built-in model.

Floors are a little under what was measured (see README, "Search quality"): semantic R@5 0.874,
keyword 0.669, hybrid (defaults) 0.886.
"""

from __future__ import annotations

from pgsearch import db
from pgsearch.config import DatabaseConfig, Settings
from pgsearch.embedding import get_embedder
from pgsearch.evaluation import load_corpus
from pgsearch.evaluation.service import evaluate, ingest
from pgsearch.search.params import FusionParams


def test_recall_floors_and_hybrid_not_worse(pg_config: DatabaseConfig) -> None:
    corpus = load_corpus("cpython")
    docs, queries = corpus.docs, corpus.queries
    assert len(docs) > 150 and len(queries) > 200
    embedder = get_embedder("minilm")
    settings = Settings(_env_file=None)
    with db.get_sessionmaker().begin() as session:
        uid = ingest(session, docs, embedder)
        semantic = evaluate(session, uid, queries, embedder, mode="semantic")
        keyword = evaluate(session, uid, queries, embedder, mode="keyword")
        hybrid = evaluate(
            session,
            uid,
            queries,
            embedder,
            mode="hybrid",
            fusion=FusionParams.from_settings(settings),
        )
    assert semantic.r5 >= 0.85, semantic
    assert keyword.r5 >= 0.62, keyword
    assert hybrid.r5 >= max(semantic.r5, keyword.r5), (hybrid, semantic, keyword)
    assert hybrid.mrr10 >= keyword.mrr10
