"""The embedding layer, exercised with the real offline models (no mocks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from pgsearch.config import EmbeddingModel, Settings
from pgsearch.embedding import (
    EMBEDDER_NAMES,
    E5SmallEmbedder,
    Embedder,
    MiniLMEmbedder,
    ModelIntegrityError,
    WordLlamaEmbedder,
    for_queries,
    get_embedder,
    get_query_embedder,
)
from pgsearch.embedding import minilm as minilm_module
from pgsearch.embedding import wordllama as wordllama_module
from pgsearch.schemas import validation_message

EXPECTED = {
    "minilm": ("all-MiniLM-L6-v2-int8", 384),
    "wordllama": ("wordllama-l2-supercat-256", 256),
    "e5-multilingual": ("multilingual-e5-small-q4", 384),
}
TEXTS = [
    "PostgreSQL stores rows in heap pages.",
    "A short one.",
    "Vector search finds the nearest neighbours of an embedding in a high-dimensional space.",
    "x",
    "The quick brown fox jumps over the lazy dog, again and again, until the dog wakes up.",
]


@pytest.fixture(params=EMBEDDER_NAMES)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    """The shared registry instance of each backend (loaded once per test session)."""
    name: str = request.param
    return get_embedder(name)


def _fresh(name: str, **kwargs: Any) -> MiniLMEmbedder | WordLlamaEmbedder | E5SmallEmbedder:
    if name == "minilm":
        return MiniLMEmbedder(**kwargs)
    if name == "e5-multilingual":
        return E5SmallEmbedder(**kwargs)
    return WordLlamaEmbedder(**kwargs)


def test_registry_names_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each name settings accept gives the model it promises; unset, settings pick MiniLM."""
    assert set(EMBEDDER_NAMES) == set(typing.get_args(EmbeddingModel))
    assert {n: (get_embedder(n).name, get_embedder(n).dim) for n in EMBEDDER_NAMES} == EXPECTED
    monkeypatch.delenv("PGSEARCH_EMBEDDING_MODEL", raising=False)
    default = get_embedder(Settings(_env_file=None).embedding_model)
    assert (default.name, default.dim) == EXPECTED["minilm"]


def test_get_embedder_is_cached_and_conforms(embedder: Embedder) -> None:
    key = next(k for k, (name, _) in EXPECTED.items() if name == embedder.name)
    assert get_embedder(key) is embedder
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == EXPECTED[key]


def test_get_embedder_is_thread_safe() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(get_embedder, ["wordllama"] * 32))
    assert all(e is found[0] for e in found)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown embedder 'bert'") as excinfo:
        get_embedder("bert")
    assert all(name in str(excinfo.value) for name in EMBEDDER_NAMES)


def test_shape_dtype_and_unit_norm(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input(embedder: Embedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, embedder.dim)
    assert vectors.dtype == np.float32


def test_accepts_any_sequence(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.embed(tuple(TEXTS)), embedder.embed(TEXTS))


def test_rejects_a_bare_string(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="not a single str"):
        embedder.embed("hello")


def test_deterministic(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.embed(TEXTS), embedder.embed(TEXTS))


@pytest.mark.parametrize("name", EMBEDDER_NAMES)
def test_batching_and_length_sorting_keep_input_order(name: str) -> None:
    batched = _fresh(name, batch_size=2).embed(TEXTS)
    one_by_one = np.vstack([get_embedder(name).embed([t]) for t in TEXTS])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_minilm_batches_respect_count_and_token_budget() -> None:
    embedder = MiniLMEmbedder(batch_size=3, max_batch_tokens=256)
    # Shortest first; a batch closes when full (3 texts) or when its padded size would pass 256.
    batches = list(embedder._batches([10, 200, 20, 150, 5, 12, 300]))
    assert batches == [[4, 0, 5], [2], [3], [1], [6]]


def test_semantic_sanity(embedder: Embedder) -> None:
    query, paraphrase, unrelated = embedder.embed(
        [
            "How do I reset my password?",
            "I forgot my password and need to change it.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.1


@pytest.mark.parametrize(
    ("name", "max_tokens"),
    [("minilm", minilm_module.MAX_TOKENS), ("wordllama", wordllama_module.MAX_TOKENS)],
)
def test_long_text_is_truncated(name: str, max_tokens: int) -> None:
    # Words past the token limit must not change the vector.
    long_text = "Databases index rows so that lookups are fast. " * max_tokens
    with_tail, without_tail = get_embedder(name).embed(
        [long_text + "Bananas are yellow and grow in tropical places.", long_text]
    )
    np.testing.assert_allclose(with_tail, without_tail, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(with_tail), 1.0, atol=1e-5)


def test_unicode_korean(embedder: Embedder) -> None:
    korean, paraphrase, english = embedder.embed(
        [
            "안녕하세요, 만나서 반갑습니다.",
            "안녕하세요, 만나서 정말 반갑습니다.",
            "Tax forms are due in April.",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(korean), 1.0, atol=1e-5)
    assert float(korean @ paraphrase) > float(korean @ english)


def test_empty_string() -> None:
    minilm, wordllama = get_embedder("minilm"), get_embedder("wordllama")
    # MiniLM still sees [CLS] [SEP]; WordLlama has no token to average, so the row stays zero,
    # which pgvector's cosine HNSW index leaves out.
    np.testing.assert_allclose(np.linalg.norm(minilm.embed([""])), 1.0, atol=1e-5)
    np.testing.assert_array_equal(wordllama.embed(["", "a"])[0], 0.0)


@pytest.mark.parametrize("name", EMBEDDER_NAMES)
def test_construction_is_lazy(name: str) -> None:
    embedder = _fresh(name)
    assert not embedder._model.built
    embedder.embed([])
    assert not embedder._model.built
    embedder.embed(["now it loads"])
    assert embedder._model.built


def test_concurrent_first_use_loads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = MiniLMEmbedder()
    calls = 0
    real_load = embedder._load

    def counting_load() -> Any:
        nonlocal calls
        calls += 1
        return real_load()

    monkeypatch.setattr(embedder._model, "_build", counting_load)
    start = threading.Barrier(4)

    def work(_: int) -> Any:
        start.wait()
        return embedder.embed(TEXTS)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    assert calls == 1
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], atol=1e-6)


@pytest.mark.parametrize("name", EMBEDDER_NAMES)
def test_loads_without_network(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("embedder tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert _fresh(name).embed(["offline"]).shape == (1, EXPECTED[name][1])


def test_minilm_rejects_a_tampered_model(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        MiniLMEmbedder(model_path=fake).embed(["x"])


def test_wordllama_matches_reference_implementation() -> None:
    import wordllama
    from wordllama import WordLlama

    reference = WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, dim=256, disable_download=True
    ).embed(TEXTS, norm=True)
    np.testing.assert_allclose(get_embedder("wordllama").embed(TEXTS), reference, atol=1e-5)


def test_wordllama_import_leaves_root_logging_alone() -> None:
    # A fresh interpreter: the side effect only happens on wordllama's first import.
    code = (
        "import logging\n"
        "from pgsearch.embedding import WordLlamaEmbedder\n"
        "WordLlamaEmbedder().embed(['x'])\n"
        "root = logging.getLogger()\n"
        "assert not root.handlers and root.level == logging.WARNING, (root.handlers, root.level)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_e5_is_multilingual() -> None:
    # The same sentence in Korean, German and Japanese is closer to its translations than to an
    # unrelated sentence in the same language; MiniLM (English only) gets this wrong for Korean.
    ko, de, ja, ko_other = get_embedder("e5-multilingual").embed(
        [
            "데이터베이스는 행을 디스크에 저장합니다.",
            "Die Datenbank speichert Zeilen auf der Festplatte.",
            "データベースは行をディスクに保存します。",
            "고양이가 정원에서 햇볕을 쬐고 있습니다.",
        ]
    )
    # e5 similarities crowd into 0.7-0.9, so the margins are small in absolute terms.
    assert float(ko @ de) > float(ko @ ko_other) + 0.01
    assert float(ko @ ja) > float(ko @ ko_other) + 0.01


def test_e5_queries_get_the_query_side() -> None:
    e5 = get_embedder("e5-multilingual")
    query_side = for_queries(e5)
    assert (query_side.name, query_side.dim) == (e5.name, e5.dim)
    as_query = query_side.embed(["how are rows stored"])
    assert float(as_query[0] @ e5.embed(["how are rows stored"])[0]) < 0.999
    np.testing.assert_allclose(np.linalg.norm(as_query), 1.0, atol=1e-5)
    # The API's query embedder and the CLI's both use the query side.
    batched = get_query_embedder("e5-multilingual").embed(["how are rows stored"])
    np.testing.assert_allclose(batched, as_query, atol=1e-6)
    # Models without a query side embed queries like any text.
    assert for_queries(get_embedder("minilm")) is get_embedder("minilm")
    assert for_queries(query_side) is query_side


def test_e5_texts_with_nul_and_long_texts() -> None:
    e5 = get_embedder("e5-multilingual")
    with_nul, spaced = e5.embed(["rows\0stored", "rows stored"])
    np.testing.assert_allclose(with_nul, spaced, atol=1e-6)
    # Past 512 tokens the engine averages windows instead of dropping the tail.
    long_text = "Databases index rows so that lookups are fast. " * 80
    with_tail, without_tail = e5.embed([long_text + "Bananas are yellow. " * 40, long_text])
    assert float(with_tail @ without_tail) < 0.999


def test_e5_rejects_a_tampered_model(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"not the model")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        E5SmallEmbedder(model_path=fake).embed(["x"])


def test_unknown_model_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSEARCH_EMBEDDING_MODEL", "e5")
    with pytest.raises(ValidationError) as excinfo:
        Settings(_env_file=None)
    message = validation_message(excinfo.value)
    assert message.startswith("embedding_model:")
    assert all(f"'{name}'" in message for name in EMBEDDER_NAMES)


@pytest.mark.parametrize(
    ("operator", "spin"), [(None, "0"), ("PASSIVE", "0"), ("ACTIVE", "30000000000")]
)
def test_e5_threads_sleep_while_they_wait(operator: str | None, spin: str) -> None:
    # A fresh interpreter: the engine's libgomp reads its settings once, when it loads, and
    # prints them on stderr with OMP_DISPLAY_ENV (unset, it spins 300,000 turns before it
    # sleeps). The process's environment is left as it was.
    code = (
        "import os\n"
        "from pgsearch.embedding.e5 import E5SmallEmbedder\n"
        "E5SmallEmbedder(num_threads=1).embed(['x'])\n"
        "print(os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env |= {"OMP_DISPLAY_ENV": "VERBOSE"} | ({"OMP_WAIT_POLICY": operator} if operator else {})
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert f"GOMP_SPINCOUNT = '{spin}'" in done.stderr
    assert done.stdout.strip() == str(operator)
