"""Helpers shared by the benchmarks: a throwaway database, a real API server, data, timing.

Everything here cleans up after itself, on errors and on Ctrl-C / SIGTERM too: the embedded
PostgreSQL runs in a temporary data dir that is stopped and deleted at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx
import numpy as np
import psutil
import psycopg
from numpy.typing import NDArray
from pgvector.psycopg import register_vector

from pgsearch.config import DatabaseConfig
from pgsearch.testing import temporary_database, uninterruptible

T = TypeVar("T")
BENCH_DB_NAME = "pgsearch_bench"
SERVER_START_TIMEOUT_S = 90.0


# -- process hygiene ---------------------------------------------------------------------------


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` blocks stop servers and delete temp dirs."""
    signal.signal(signal.SIGTERM, _sigterm)


def run_interruptible(run: Callable[[], T]) -> T | None:
    """Run a benchmark; SIGTERM and Ctrl-C stop it cleanly (None when interrupted)."""
    exit_cleanly_on_sigterm()
    # A shell starts background jobs with SIGINT ignored; `kill -INT` must still stop us cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted: database stopped and temp files removed", file=sys.stderr)
        return None


# -- the database ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    """A migrated embedded PostgreSQL in a temp dir, and the environment that points at it."""

    config: DatabaseConfig
    env: dict[str, str]  # pass to subprocesses (the API server) so they use the same database
    tmp_dir: Path

    def conninfo(self) -> str:
        """A libpq URL for plain psycopg connections."""
        return self.config.db_url(driver="postgresql").render_as_string(hide_password=False)

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        """A plain psycopg connection with the pgvector types registered."""
        conn = psycopg.connect(self.conninfo(), autocommit=autocommit)
        register_vector(conn)
        return conn

    def postmaster_pid(self) -> int:
        """The server's pid (the first line of postmaster.pid); its backends are its children."""
        return int((self.config.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


@contextmanager
def bench_database(
    settings_env: dict[str, str] | None = None, *, keep_in: Path | None = None
) -> Iterator[BenchDatabase]:
    """Start an embedded PostgreSQL and migrate it: a fresh one in a temp dir, removed at the
    end, or the one in `keep_in` (made there if missing), kept for the next run."""
    tmp_dir = keep_in if keep_in is not None else Path(tempfile.mkdtemp(prefix="pgsearch-bench-"))
    try:
        with temporary_database(
            tmp_dir / "data", DB_NAME=BENCH_DB_NAME, **(settings_env or {})
        ) as config:
            yield BenchDatabase(config=config, env=dict(os.environ), tmp_dir=tmp_dir)
    finally:
        if keep_in is None:
            with uninterruptible():
                shutil.rmtree(tmp_dir, ignore_errors=True)


# Dropped for a bulk load and built after it; the BM25 postings are written by triggers on
# chunks either way.
SEARCH_INDEXES = (
    "ix_chunks_embedding_hnsw",
    "ix_bm25_postings_impact",
    "ix_bm25_postings_chunk_id",
    "ix_documents_metadata",
)


def drop_search_indexes(database: BenchDatabase) -> dict[str, str]:
    """Drop the search indexes; returns their definitions, as the migration made them."""
    with database.connect() as conn:
        found = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            (list(SEARCH_INDEXES),),
        ).fetchall()
        for name, _ in found:
            conn.execute(f"DROP INDEX {name}")
    return {name: definition for name, definition in found}


def build_indexes(
    database: BenchDatabase, definitions: dict[str, str], *, memory: str = "1GB"
) -> float:
    """Create the indexes of these definitions (from `drop_search_indexes`); seconds."""
    with database.connect() as conn:
        start = time.perf_counter()
        # With the server default (64 MB) the HNSW graph does not fit in memory and the build
        # spills to disk, several times slower; a bulk loader raises it for its session.
        conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", (memory,))
        for definition in definitions.values():
            # A definition read back from pg_indexes, not outside input.
            conn.execute(definition)
        return time.perf_counter() - start


# -- the API server ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, *, workers: int = 1) -> list[str]:
    """`pgsearch serve` on 127.0.0.1:`port`, access log off."""
    return [
        sys.executable,
        *("-m", "pgsearch.cli", "serve", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--log-level", "warning"),
    ]


def start_server(
    command: Sequence[str],
    *,
    env: dict[str, str],
    log_path: Path,
    ready_url: str,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server subprocess, its output in `log_path`; return once `ready_url` answers 200."""
    with open(log_path, "wb") as log:
        # Own session: Ctrl-C reaches only us, and we stop the server in order (SIGTERM, wait).
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(ready_url, proc, log_path)
    except BaseException:
        stop_server(proc, grace_s=2.0)
        raise
    return proc


def wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll `url` until it answers 200; fail with the end of the server's log if it exits."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}:\n{tail}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {SERVER_START_TIMEOUT_S:.0f} s")


def stop_server(proc: subprocess.Popen[bytes], *, grace_s: float = 30.0) -> None:
    """SIGTERM (graceful: pgsearch leaves the embedded server), then SIGKILL any straggler."""
    with uninterruptible():
        try:
            # Remember uvicorn's worker processes now: once the parent is gone they are orphans.
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # psutil.Process remembers each process's start time, so a reused pid is never killed.
        _, alive = psutil.wait_procs(family, timeout=5)
        for p in alive:
            p.kill()
        psutil.wait_procs(alive, timeout=5)


@contextmanager
def running_server(
    command: Sequence[str], *, env: dict[str, str], log_path: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`start_server` for the block, `stop_server` at its end."""
    proc = start_server(command, env=env, log_path=log_path, ready_url=ready_url)
    try:
        yield proc
    finally:
        stop_server(proc)


@contextmanager
def api_server(database: BenchDatabase, *, workers: int = 1) -> Iterator[str]:
    """Run `pgsearch serve` in a subprocess on the bench database; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_server(
        serve_command(port, workers=workers),
        env=database.env,
        log_path=database.tmp_dir / f"serve-{port}.log",
        ready_url=url + "/health",
    ):
        yield url


# -- data --------------------------------------------------------------------------------------

# Consonant-vowel syllables make pronounceable made-up words that the English stemmer keeps
# apart, so full-text search has a controlled vocabulary to match.
_ONSETS = "b c d f g h k l m n p r s t v z".split()
_VOWELS = "a e i o u".split()


def made_up_words(count: int, rng: np.random.Generator) -> list[str]:
    """`count` distinct pronounceable made-up words of 2-4 syllables."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = "".join(
            _ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
            for _ in range(int(rng.integers(2, 5)))
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass(frozen=True, slots=True)
class Dataset:
    """Documents of one chunk each (vector, text, metadata) and held-out queries."""

    vectors: NDArray[np.float32]  # (n, dim), unit rows
    texts: list[str]
    shards: NDArray[np.int64]  # metadata {"shard": s}; each value holds 1/SHARDS of the documents
    query_vectors: NDArray[np.float32]  # (q, dim), unit rows
    query_texts: list[str]
    description: str

    @property
    def n(self) -> int:
        """Number of documents."""
        return int(self.vectors.shape[0])

    def metadata(self, i: int) -> dict[str, Any]:
        """Document `i`'s metadata."""
        return {"shard": int(self.shards[i]), "source": "bench"}

    def external_id(self, i: int) -> str:
        """Document `i`'s external id (parse back with `index_of`)."""
        return f"doc-{i}"

    @staticmethod
    def index_of(external_id: str | None) -> int:
        """The document index of an external id made by `external_id`."""
        assert external_id is not None
        return int(external_id.removeprefix("doc-"))

    def content_hash(self, i: int) -> str:
        """A stable content hash for document `i` (what the raw loader stores)."""
        return hashlib.sha256(self.texts[i].encode() + self.vectors[i].tobytes()).hexdigest()


SHARDS = 100


def unit_rows(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scale rows to unit length."""
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic_dataset(
    *,
    n: int,
    n_queries: int,
    dim: int = 384,
    seed: int = 0,
    latent_dim: int = 32,
    docs_per_topic: int = 100,
    words_per_text: int = 30,
    spread: tuple[float, float] = (0.8, 1.2),
    noise: float = 0.1,
    query_noise: float = 0.15,
) -> Dataset:
    """A Gaussian-mixture corpus shaped like sentence embeddings; fixed seed, deterministic.

    Uniform random vectors in 384-d have no neighbourhoods (every point is about equally far
    from every other), which makes HNSW recall meaningless. Real embeddings instead lie near a
    low-dimensional manifold, in topics of uneven size. So: topics are Gaussian clusters in a
    `latent_dim`-d space (Zipf-like sizes, varying spread), mapped into `dim` dims by a fixed
    random linear map, plus a little full-dimensional noise, then L2-normalised. Queries are
    fresh draws from the same mixture (never stored) with extra noise, like paraphrases.
    Texts are made-up words: a topic's own words plus common words, so keyword search matches.

    The defaults make overlapping topics, so neighbourhoods are continuous rather than tight
    separate balls. Measured at 50k vectors (pgvector HNSW m=16, ef_construction=64): recall@10
    0.955 at ef_search 40 and 0.99 at 100, close to the 0.93 / 0.975 measured on real chunk
    embeddings; well-separated topics (spread 0.35-0.75, latent 24)
    gave 0.98 / 0.999, too easy to tell anything.
    """
    rng = np.random.default_rng(seed)
    n_topics = max(10, n // docs_per_topic)
    weights = 1.0 / (np.arange(n_topics) + 10.0)
    weights /= weights.sum()
    centers = rng.standard_normal((n_topics, latent_dim)).astype(np.float32)
    spreads = rng.uniform(*spread, n_topics).astype(np.float32)
    projection = (rng.standard_normal((latent_dim, dim)) / np.sqrt(latent_dim)).astype(np.float32)

    vocabulary = made_up_words(20 * n_topics + 2000, rng)
    common = np.array(vocabulary[:2000])
    # Common words follow Zipf's law, as in real text.
    common_p = 1.0 / (np.arange(len(common)) + 1.0)
    common_p /= common_p.sum()
    topic_words = np.array(vocabulary[2000:]).reshape(n_topics, 20)

    def draw(count: int, noise: float) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        topic = rng.choice(n_topics, size=count, p=weights)
        z = centers[topic] + spreads[topic, None] * rng.standard_normal(
            (count, latent_dim), dtype=np.float32
        )
        x = z @ projection + noise * rng.standard_normal((count, dim), dtype=np.float32)
        return unit_rows(x), topic

    def texts_for(topics: NDArray[np.int64], own: int, general: int) -> list[str]:
        # Vectorised: one draw for all texts; topic and common words alternate in each text.
        picks = rng.integers(0, topic_words.shape[1], (len(topics), own))
        words = np.empty((len(topics), own + general), dtype=object)
        words[:, :own] = topic_words[topics[:, None], picks]
        words[:, own:] = rng.choice(common, (len(topics), general), p=common_p)
        return [" ".join(row) for row in words]

    vectors, topics = draw(n, noise=noise)
    half = words_per_text // 2
    texts = texts_for(topics, half, words_per_text - half)
    query_vectors, query_topics = draw(n_queries, noise=query_noise)
    query_texts = texts_for(query_topics, 2, 1)
    return Dataset(
        vectors=vectors,
        texts=texts,
        shards=np.arange(n, dtype=np.int64) % SHARDS,
        query_vectors=query_vectors,
        query_texts=query_texts,
        description=(
            f"{n_topics:,} Gaussian topics in {latent_dim}-d mapped to {dim}-d, seed {seed}"
        ),
    )


def exact_top_k(
    vectors: NDArray[np.float32],
    queries: NDArray[np.float32],
    *,
    k: int,
    candidates: NDArray[np.intp] | None = None,
) -> NDArray[np.intp]:
    """Exact cosine top-k row indices per query (rows are unit length), best first."""
    pool = vectors if candidates is None else vectors[candidates]
    out = np.empty((len(queries), k), dtype=np.intp)
    for start in range(0, len(queries), 64):  # bounded memory: 64 x n similarities at a time
        sims = queries[start : start + 64] @ pool.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + 64] = np.take_along_axis(top, order, axis=1)
    return out if candidates is None else candidates[out]


def recall_at_k(found: Sequence[Sequence[int]], truth: NDArray[np.intp]) -> float:
    """Mean over queries of |found ∩ true top-k| / k."""
    k = truth.shape[1]
    return float(
        np.mean([len(set(f) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)])
    )


# -- timing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latencies:
    """Per-call wall times of one timed pass, in seconds."""

    seconds: list[float]

    @property
    def qps(self) -> float:
        """Calls per second of wall time, one client."""
        return len(self.seconds) / sum(self.seconds)

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.seconds) * 1000


def time_calls(fn: Callable[[int], object], count: int) -> Latencies:
    """Call `fn(i)` for i in range(count), timing each call."""
    seconds: list[float] = []
    for i in range(count):
        start = time.perf_counter()
        fn(i)
        seconds.append(time.perf_counter() - start)
    return Latencies(seconds)


_POOL_BACKENDS = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE application_name = 'pgsearch' AND backend_type = 'client backend'"
)


def backend_cpu_ns(monitor: psycopg.Connection[Any]) -> dict[int, int]:
    """CPU time so far of each backend serving pgsearch's pool, by pid (the kernel's schedstat,
    in ns: /proc/PID/stat counts in 10 ms ticks, coarser than a pass of small searches)."""
    cpu: dict[int, int] = {}
    for (pid,) in monitor.execute(_POOL_BACKENDS).fetchall():
        try:
            cpu[pid] = schedstat_ns(pid)
        except OSError:  # gone since (a connection the pool closed)
            continue
    return cpu


def schedstat_ns(pid: int) -> int:
    """CPU time of a process so far, in ns (the kernel's schedstat, finer than its ticks)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants, exited ones included."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in family:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        # children_*: reaped children, e.g. the backends of connections a pool closed.
        total += float(times.user + times.system + times.children_user + times.children_system)
    return total


@dataclass
class CpuMeter:
    """CPU time of this process and of the database backends serving pgsearch's connections
    (the kernel's schedstat, in ns), per call measured: robust to other jobs on the machine,
    which wall-clock QPS is not."""

    database: BenchDatabase
    server_ns: int = 0
    client_ns: int = 0
    calls: int = 0

    def _backends(self) -> int:
        with self.database.connect() as monitor:
            return sum(backend_cpu_ns(monitor).values())

    def measure(self, fn: Callable[[], T]) -> T:
        server, client = self._backends(), time.process_time_ns()
        result = fn()
        self.client_ns += time.process_time_ns() - client
        self.server_ns += self._backends() - server
        return result

    def per_call_ms(self) -> tuple[float, float]:
        """(server, client) CPU milliseconds per call."""
        n = max(self.calls, 1)
        return self.server_ns / n / 1e6, self.client_ns / n / 1e6


def median_pass(passes: Sequence[Latencies]) -> Latencies:
    """The pass with the median QPS (of an even count, the slower middle one)."""
    return sorted(passes, key=lambda p: p.qps)[(len(passes) - 1) // 2]
