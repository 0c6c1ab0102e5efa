"""`/users/{user_id}/search`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pgsearch.api.deps import ConnectionOwnUserId, QueryEmbedderDep, ReadConnectionDep
from pgsearch.api.fast_search import search_response
from pgsearch.schemas import SearchRequest, SearchResponse
from pgsearch.services import search as search_service

router = APIRouter(prefix="/users/{user_id}", tags=["search"])


@router.post("/search", response_model=SearchResponse)
async def search(
    conn: ReadConnectionDep,
    embedder: QueryEmbedderDep,
    user_id: ConnectionOwnUserId,
    body: SearchRequest,
) -> Response:
    """Semantic, keyword or hybrid (default) search over the user's documents."""
    # The usual request is answered before it gets here (api/fast_search.py), with the same
    # parts. The path every search walks: its SQL on the event loop (a thread only to embed a query
    # text), and the response serialised once from the model the service built
    # (`response_model` only documents it; validating it again would cost as much as the SQL).
    result = await search_service.search_async(
        conn, user_id=user_id, request=body, embedder=embedder
    )
    return search_response(result.model_dump_json())
