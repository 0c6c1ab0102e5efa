"""`/users/{user_id}/search`."""

from __future__ import annotations

from fastapi import APIRouter

from pgsearch.api.deps import (
    OwnUserId,
    QueryEmbedderDep,
    ReadOnlyRoute,
    SessionDep,
    SettingsDep,
)
from pgsearch.schemas import SearchRequest, SearchResponse
from pgsearch.services import search as search_service

# Every route here only reads: their sessions run in autocommit (see db.get_read_db), so a
# route that writes belongs in another router.
router = APIRouter(prefix="/users/{user_id}", tags=["search"], route_class=ReadOnlyRoute)


@router.post("/search", response_model=SearchResponse)
def search(
    db: SessionDep,
    embedder: QueryEmbedderDep,
    settings: SettingsDep,
    user_id: OwnUserId,
    body: SearchRequest,
) -> SearchResponse:
    """Semantic, keyword or hybrid (default) search over the user's documents."""
    return search_service.search(
        db,
        user_id=user_id,
        request=body,
        embedder=embedder,
        semantic_weight=settings.hybrid_semantic_weight,
        keyword_weight=settings.hybrid_keyword_weight,
        rrf_k=settings.hybrid_rrf_k,
    )
