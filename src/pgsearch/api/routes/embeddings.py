"""`/v1/embeddings`: the built-in model behind OpenAI's embeddings API shape."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from pgsearch.api.deps import EmbedderDep, QueryEmbedderDep, ReadPrincipalDep, SettingsDep
from pgsearch.schemas import EmbeddingRequest, EmbeddingResponse
from pgsearch.services.embeddings import embed_request

router = APIRouter(prefix="/v1", tags=["embeddings"])


@router.post("/embeddings", response_model=EmbeddingResponse)
async def create_embeddings(
    _caller: ReadPrincipalDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
    query_embedder: QueryEmbedderDep,
    body: EmbeddingRequest,
) -> Response:
    """Embed texts with the built-in model (any valid key may call it when auth is on)."""
    # One text is most often a search query: it joins the queries being embedded now.
    model = query_embedder if isinstance(body.input, str) or len(body.input) == 1 else embedder
    result = await run_in_threadpool(
        embed_request, body, embedder=model, setting=settings.embedding_model
    )
    return Response(result.model_dump_json(), media_type="application/json")
