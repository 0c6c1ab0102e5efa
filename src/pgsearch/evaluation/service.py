"""Evaluate the search service itself on a corpus: store it for a user, run every query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from pgsearch.embedding import Embedder, for_queries
from pgsearch.evaluation import CorpusDoc, CorpusQuery, Scores, score_rankings
from pgsearch.models import User
from pgsearch.schemas import DocumentCreate, SearchMode, SearchRequest
from pgsearch.search.params import FusionParams
from pgsearch.services.documents import store_documents
from pgsearch.services.search import search

_BATCH = 100


def ingest(session: Session, docs: Sequence[CorpusDoc], embedder: Embedder) -> int:
    """Store the corpus for a new user, as the API stores documents; returns the user id."""
    user = User(name="evaluation")
    session.add(user)
    session.flush()
    for start in range(0, len(docs), _BATCH):
        batch = [
            DocumentCreate(text=d.text, external_id=d.id, metadata=d.metadata)
            for d in docs[start : start + _BATCH]
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
    """Run every query through the search service (top 10) and score the rankings.

    `fusion` None means the configured hybrid defaults, as for an API request.
    """
    rankings = []
    query_embedder = for_queries(embedder)
    for q in queries:
        response = search(
            session,
            user_id=user_id,
            request=SearchRequest(query=q.text, mode=mode, k=10),
            embedder=query_embedder,
            fusion=fusion,
        )
        rankings.append([hit.external_id or "" for hit in response.results])
    return score_rankings(rankings, queries)
