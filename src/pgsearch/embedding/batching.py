"""Embed concurrent callers' texts together: one model run for every query that is waiting.

On 2 cores, MiniLM embeds a short query in ~5.6 ms alone and in ~3.1 ms each in a batch of 8
(`bench/load.py` measures what that does to search goodput). A caller that finds the model idle
runs at once, so a lone query waits for nothing; callers that arrive while it runs queue up, and
the first of them to wake runs the whole queue. No timer, no background thread. If a shared run
fails, each of its callers runs again alone, so a text the model cannot take fails only its own
request.
(The `batched` package does dynamic batching with a worker thread and a batch timeout, which
adds latency to every lone query.)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pgsearch.embedding.base import Embedder, check_texts


class _Call:
    """One caller's texts; then its rows, or `alone` when the shared run failed."""

    __slots__ = ("alone", "texts", "vectors")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: NDArray[np.float32] | None = None
        self.alone = False

    @property
    def pending(self) -> bool:
        return self.vectors is None and not self.alone


class BatchingEmbedder:
    """An `Embedder` that merges calls made at the same time from different threads."""

    def __init__(self, embedder: Embedder, *, max_texts: int = 64) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.max_texts = max_texts  # per model run: bounds the wait of the callers in it
        self._cond = threading.Condition()
        # Pending calls, oldest first. A call leaves the queue only in a batch, and every call
        # of a batch is finished when the run ends: with rows, or marked to run alone.
        self._queue: list[_Call] = []
        self._busy = False

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed `texts` into a (len(texts), dim) float32 array, maybe with others' texts."""
        check_texts(texts)
        call = _Call(list(texts))
        with self._cond:
            self._queue.append(call)
            while call.pending:
                if self._busy:
                    self._cond.wait()
                    continue
                batch = self._take()  # not empty: this call is still queued
                self._busy = True
                self._cond.release()  # the model runs without the lock; others queue meanwhile
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    for unfinished in batch:
                        if unfinished.pending:
                            unfinished.alone = True
                    self._busy = False
                    self._cond.notify_all()
        if call.vectors is not None:
            return call.vectors
        # The shared run failed. Running alone, a text the model cannot take fails only its own
        # caller, with its own exception, raised in its own thread.
        return self.embedder.embed(call.texts)

    def _take(self) -> list[_Call]:
        """The oldest calls, up to max_texts texts (at least one call, however large)."""
        count = total = 0
        for queued in self._queue:
            if count and total + len(queued.texts) > self.max_texts:
                break
            count += 1
            total += len(queued.texts)
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    def _run(self, batch: list[_Call]) -> None:
        """Embed the batch in one model call and hand each caller its rows."""
        texts = [text for call in batch for text in call.texts]
        try:
            vectors = self.embedder.embed(texts)
        except Exception:
            return  # each call of the batch runs again on its own (see embed)
        if len(vectors) != len(texts):
            return
        start = 0
        for call in batch:
            call.vectors = vectors[start : start + len(call.texts)]
            start += len(call.texts)
