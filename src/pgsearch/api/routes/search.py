"""`/users/{user_id}/search`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from pgsearch.api.deps import QueryEmbedderDep, ReadOwnUserId, ReadSessionDep
from pgsearch.schemas import SearchRequest, SearchResponse
from pgsearch.services import search as search_service

router = APIRouter(prefix="/users/{user_id}", tags=["search"])


@router.post("/search", response_model=SearchResponse)
async def search(
    db: ReadSessionDep,
    embedder: QueryEmbedderDep,
    user_id: ReadOwnUserId,
    body: SearchRequest,
) -> Response:
    """Semantic, keyword or hybrid (default) search over the user's documents."""
    # The path every search walks: one thread hop for the blocking work (embedding, SQL), and
    # the response serialised once from the model the service built (`response_model` only
    # documents it; validating it again would cost as much as the SQL).
    result = await run_in_threadpool(
        search_service.search, db, user_id=user_id, request=body, embedder=embedder
    )
    return Response(result.model_dump_json(), media_type="application/json")
