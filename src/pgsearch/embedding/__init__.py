"""Text embedders: a small protocol and a registry of offline backends, loaded lazily."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pgsearch.embedding.base import Embedder, ModelIntegrityError
from pgsearch.embedding.minilm import MiniLMEmbedder
from pgsearch.embedding.wordllama import WordLlamaEmbedder

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDER_NAMES",
    "Embedder",
    "MiniLMEmbedder",
    "ModelIntegrityError",
    "WordLlamaEmbedder",
    "get_embedder",
]

_FACTORIES: dict[str, Callable[[], Embedder]] = {
    "minilm": MiniLMEmbedder,
    "wordllama": WordLlamaEmbedder,
}
EMBEDDER_NAMES: tuple[str, ...] = tuple(_FACTORIES)
DEFAULT_EMBEDDER = "minilm"

_instances: dict[str, Embedder] = {}
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
