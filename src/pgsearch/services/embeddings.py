"""The OpenAI-compatible embeddings endpoint's work: check the request, embed, encode."""

from __future__ import annotations

import base64

import numpy as np

from pgsearch.embedding import Embedder
from pgsearch.errors import InvalidInput
from pgsearch.schemas import EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage


def embed_request(
    request: EmbeddingRequest, *, embedder: Embedder, setting: str
) -> EmbeddingResponse:
    """Embed the request's texts with the built-in model (`setting` is its configured name)."""
    if request.model is not None and request.model not in (setting, embedder.name):
        # Vectors of another model would be silently incomparable with the caller's.
        raise InvalidInput(
            f"model {request.model!r} is not served here: this server embeds with "
            f"{embedder.name!r} (PGSEARCH_EMBEDDING_MODEL={setting})"
        )
    if request.dimensions is not None and request.dimensions != embedder.dim:
        raise InvalidInput(
            f"dimensions {request.dimensions} is not available: {embedder.name!r} makes "
            f"{embedder.dim}-dimensional vectors"
        )
    texts = request.texts
    vectors = embedder.embed(texts)
    data: list[EmbeddingData] = []
    for i, row in enumerate(vectors):
        if request.encoding_format == "base64":
            value: list[float] | str = base64.b64encode(row.astype("<f4").tobytes()).decode()
        else:
            value = row.astype(np.float64).tolist()
        data.append(EmbeddingData.model_construct(object="embedding", index=i, embedding=value))
    words = sum(len(t.split()) for t in texts)
    return EmbeddingResponse.model_construct(
        object="list",
        data=data,
        model=embedder.name,
        usage=EmbeddingUsage(prompt_tokens=words, total_tokens=words),
    )
