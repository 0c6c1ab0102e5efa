"""`/users/{user_id}/search`."""

from __future__ import annotations

from fastapi import APIRouter

from pgsearch.api.deps import (
    QueryEmbedderDep,
    ReadOwnUserId,
    ReadSessionDep,
)
from pgsearch.schemas import SearchRequest, SearchResponse
from pgsearch.services import search as search_service

router = APIRouter(prefix="/users/{user_id}", tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(
    db: ReadSessionDep,
    embedder: QueryEmbedderDep,
    user_id: ReadOwnUserId,
    body: SearchRequest,
) -> SearchResponse:
    """Semantic, keyword or hybrid (default) search over the user's documents."""
    return search_service.search(
        db,
        user_id=user_id,
        request=body,
        embedder=embedder,
    )
