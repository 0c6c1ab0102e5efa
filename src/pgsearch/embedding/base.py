"""The embedder contract shared by every backend, plus small helpers for implementing it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray


class ModelIntegrityError(RuntimeError):
    """A model file on disk is not the exact file this code was written and measured against."""


def check_sha256(path: Path, digest: str, expected: str, *, package: str) -> None:
    """Refuse a model file (`path`, whose sha256 is `digest`) that is not the measured one."""
    if digest != expected:
        raise ModelIntegrityError(
            f"{path} has sha256 {digest}, expected {expected} (reinstall {package})"
        )


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    # Read-only properties so that plain attributes, class attributes and properties all conform.
    @property
    def name(self) -> str:
        """Stable model id, recorded next to every stored vector."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` into a (len(texts), dim) float32 array of unit-length rows."""
        ...


class QueryView:
    """An embedder's query side: same name and dimension, `embed` runs its `embed_queries`."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.dim = embedder.dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed search queries into unit-length rows."""
        embed_queries: Callable[[Sequence[str]], NDArray[np.float32]]
        embed_queries = self.embedder.embed_queries  # type: ignore[attr-defined]
        return embed_queries(texts)


def for_queries(embedder: Embedder) -> Embedder:
    """The embedder to use on search queries.

    Models trained with different prefixes for queries and passages (e5) have an
    `embed_queries` method; the others embed queries like any text.
    """
    if isinstance(embedder, QueryView) or not hasattr(embedder, "embed_queries"):
        return embedder
    return QueryView(embedder)


def check_texts(texts: Sequence[str]) -> None:
    """Reject a bare str: it is a Sequence[str] and would be embedded character by character."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of strings, not a single str")


def l2_normalize(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scale rows to unit length in place; all-zero rows (nothing to embed) stay zero."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use, once, even when several threads ask for it at the same time
    (a model takes seconds to load; `functools.cached_property` has no lock since 3.12)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value
