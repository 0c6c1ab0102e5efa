"""Text embedders: a small protocol and a registry of offline backends, loaded lazily."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pgsearch.embedding import e5, minilm, wordllama
from pgsearch.embedding.base import Embedder, ModelIntegrityError, for_queries
from pgsearch.embedding.batching import BatchingEmbedder
from pgsearch.embedding.e5 import E5SmallEmbedder
from pgsearch.embedding.minilm import MiniLMEmbedder
from pgsearch.embedding.wordllama import WordLlamaEmbedder

__all__ = [
    "BatchingEmbedder",
    "E5SmallEmbedder",
    "EMBEDDER_NAMES",
    "MODEL_FUSION",
    "MODEL_LANGUAGES",
    "Embedder",
    "MiniLMEmbedder",
    "ModelIntegrityError",
    "WordLlamaEmbedder",
    "for_queries",
    "get_embedder",
    "get_query_embedder",
]

_FACTORIES: dict[str, Callable[[], Embedder]] = {
    "minilm": MiniLMEmbedder,
    "wordllama": WordLlamaEmbedder,
    "e5-multilingual": E5SmallEmbedder,
}
EMBEDDER_NAMES: tuple[str, ...] = tuple(_FACTORIES)
# The languages each built-in model (by `Embedder.name`) was trained on: hybrid search leans
# on keywords for a query in any other (services.search.fusion_for).
MODEL_LANGUAGES: dict[str, frozenset[str]] = {
    m.MODEL_NAME: m.LANGUAGES for m in (minilm, wordllama, e5)
}
# The hybrid fusion (α_max, α_min) a built-in model brings, where it is not the configured one.
MODEL_FUSION: dict[str, tuple[float, float]] = {
    m.MODEL_NAME: m.FUSION_ALPHAS for m in (minilm, wordllama, e5) if m.FUSION_ALPHAS is not None
}

_instances: dict[str, Embedder] = {}
_query_instances: dict[str, BatchingEmbedder] = {}
_instances_lock = threading.Lock()


def get_embedder(name: str) -> Embedder:
    """Return the process-wide embedder registered as `name`; its model loads on first embed()."""
    with _instances_lock:
        embedder = _instances.get(name)
        if embedder is None:
            factory = _FACTORIES.get(name)
            if factory is None:
                valid = ", ".join(EMBEDDER_NAMES)
                raise ValueError(f"unknown embedder {name!r}; valid names: {valid}")
            # Construction is cheap (no I/O), so holding the lock here costs nothing.
            embedder = _instances[name] = factory()
        return embedder


def get_query_embedder(name: str) -> BatchingEmbedder:
    """`get_embedder(name)`'s query side: concurrent queries share one model run.

    Only queries: a query queued behind a large document batch would wait for all of it.
    """
    embedder = for_queries(get_embedder(name))
    with _instances_lock:
        batching = _query_instances.get(name)
        if batching is None:
            batching = _query_instances[name] = BatchingEmbedder(embedder)
        return batching
