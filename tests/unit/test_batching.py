"""BatchingEmbedder: concurrent calls share model runs, each caller gets its own rows."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from pgsearch.embedding import BatchingEmbedder, get_embedder, get_query_embedder


class GatedEmbedder:
    """The real wordllama model, recording each run; the first run waits for `release`."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.inner = get_embedder("wordllama")
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.runs: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.runs.append(list(texts))
        if len(self.runs) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError("model failed")
        return self.inner.embed(texts)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def queue_holds(batcher: BatchingEmbedder, count: int) -> bool:
    return len(batcher._queue) == count


def run_concurrently(
    batcher: BatchingEmbedder, model: GatedEmbedder, calls: list[list[str]]
) -> list[NDArray[np.float32] | BaseException | None]:
    """calls[0] starts alone and holds the model; the others queue in order, then it is freed."""
    results: list[NDArray[np.float32] | BaseException | None] = [None] * len(calls)

    def call(i: int) -> None:
        try:
            results[i] = batcher.embed(calls[i])
        except BaseException as exc:
            results[i] = exc

    # Daemons, checked below: a deadlock fails the test instead of hanging pytest at exit.
    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(len(calls))]
    threads[0].start()
    assert model.entered.wait(10)
    for queued, thread in enumerate(threads[1:], start=1):
        thread.start()  # one at a time, so the queue holds the calls in order
        wait_until(functools.partial(queue_holds, batcher, queued))
    model.release.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a caller never returned"
    return results


def test_queued_calls_share_one_run_and_get_their_own_rows() -> None:
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model)
    calls = [["first query"], ["alpha"], ["beta", "gamma"], [], ["delta"]]
    results = run_concurrently(batcher, model, calls)
    assert model.runs == [["first query"], ["alpha", "beta", "gamma", "delta"]]
    for texts, result in zip(calls, results, strict=True):
        assert isinstance(result, np.ndarray)
        assert result.shape == (len(texts), model.dim)
        if texts:
            np.testing.assert_allclose(result, model.inner.embed(texts), rtol=1e-5, atol=1e-6)


def test_runs_stay_under_max_texts() -> None:
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model, max_texts=4)
    calls = [["lead"], ["a", "b"], ["c", "d"], ["e"], ["f", "g", "h", "i", "j"]]
    results = run_concurrently(batcher, model, calls)
    # In arrival order; a call larger than max_texts still runs, alone.
    assert [len(run) for run in model.runs] == [1, 4, 1, 5]
    assert all(isinstance(r, np.ndarray) for r in results)


def test_a_failed_run_reruns_each_call_alone_so_only_the_bad_one_fails() -> None:
    model = GatedEmbedder(fail_on="poison")
    batcher = BatchingEmbedder(model)
    results = run_concurrently(batcher, model, [["lead"], ["poison"], ["innocent"]])
    assert isinstance(results[0], np.ndarray)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], np.ndarray)
    np.testing.assert_allclose(results[2], model.inner.embed(["innocent"]), rtol=1e-5, atol=1e-6)
    assert model.runs[:2] == [["lead"], ["poison", "innocent"]]
    assert sorted(map(tuple, model.runs[2:])) == [("innocent",), ("poison",)]
    assert batcher.embed(["after"]).shape == (1, model.dim)


class WrongRows(GatedEmbedder):
    """Returns one row too few for any batch of several texts."""

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = super().embed(texts)
        return vectors[:-1] if len(texts) > 1 else vectors


def test_a_run_with_the_wrong_row_count_is_not_handed_out() -> None:
    model = WrongRows()
    batcher = BatchingEmbedder(model)
    results = run_concurrently(batcher, model, [["lead"], ["a"], ["b"]])
    for texts, result in zip([["lead"], ["a"], ["b"]], results, strict=True):
        assert isinstance(result, np.ndarray)
        np.testing.assert_allclose(result, model.inner.embed(texts), rtol=1e-5, atol=1e-6)


def test_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match="not a single str"):
        get_query_embedder("wordllama").embed("text")


def test_query_embedder_is_shared_and_wraps_the_model() -> None:
    batching = get_query_embedder("wordllama")
    assert batching is get_query_embedder("wordllama")
    assert (batching.name, batching.dim) == (get_embedder("wordllama").name, 256)
