"""WordLlama l2_supercat static word embeddings (256 dims): fast, weaker, fully offline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from pgsearch.embedding.base import Lazy, check_texts, l2_normalize

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL_NAME = "wordllama-l2-supercat-256"
# Trained on English text only.
LANGUAGES = frozenset({"en"})
FUSION_ALPHAS: tuple[float, float] | None = None
DIM = 256
DEFAULT_BATCH_SIZE = 256
# Averaging static vectors needs no length limit; this one only bounds memory per batch
# (batch_size x MAX_TOKENS x 1 KiB); chunks and queries are far shorter.
MAX_TOKENS = 2048


@dataclass(frozen=True, slots=True)
class _Model:
    vectors: NDArray[np.float32]  # (vocab, 256)
    tokenizer: Tokenizer


class WordLlamaEmbedder:
    """Mean of the WordLlama token vectors, L2-normalised; the empty string embeds to zeros."""

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.name = MODEL_NAME
        self.dim = DIM
        self.batch_size = batch_size
        self._model = Lazy(_load)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` into a (len(texts), 256) float32 array of unit-length rows."""
        check_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        model = self._model.get()
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            encodings = model.tokenizer.encode_batch(batch, add_special_tokens=False)
            lengths = np.array([len(e.ids) for e in encodings])
            nonempty = np.flatnonzero(lengths)
            if nonempty.size == 0:
                continue
            # Sum each text's token vectors over one flat id array: no padding, unlike
            # WordLlamaInference.embed, which pads every batch to its longest text.
            ids = np.concatenate([encodings[i].ids for i in nonempty])
            np.clip(ids, 0, model.vectors.shape[0] - 1, out=ids)
            offsets = np.concatenate(([0], np.cumsum(lengths[nonempty])[:-1]))
            # The sum and the mean have the same direction, and rows are normalised below.
            out[start + nonempty] = np.add.reduceat(model.vectors[ids], offsets, axis=0)
        return l2_normalize(out)


def _load() -> _Model:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama
    from wordllama import WordLlama

    # wordllama.inference calls logging.basicConfig(level=INFO) when imported; undo that.
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)

    # The loader looks for its tokenizer in "<package>/tokenizer/" (a bug: the folder is
    # "tokenizers/") and then falls back to downloading; pointing cache_dir at the package
    # folder finds both files that ship in the wheel, and disable_download forbids the network.
    package_dir = Path(wordllama.__file__).parent
    inference = WordLlama.load(
        config="l2_supercat", cache_dir=package_dir, dim=DIM, disable_download=True
    )
    tokenizer: Tokenizer = inference.tokenizer
    # We build flat id arrays ourselves: no padding; truncation only bounds memory.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    vectors: NDArray[np.float32] = np.ascontiguousarray(inference.embedding, dtype=np.float32)
    return _Model(vectors=vectors, tokenizer=tokenizer)
