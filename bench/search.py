"""Search benchmark: pgsearch against raw pgvector SQL on the same database, in the same run.

Run from the repository root:
      uv run python -m bench.search          (100k vectors, 5-8 min)
      uv run python -m bench.search --quick  (20k vectors, ~3 min)

Everything runs on a throwaway embedded PostgreSQL in a temp dir, stopped and deleted at the end
(Ctrl-C and SIGTERM included), with the API as a real `pgsearch serve` subprocess on 127.0.0.1.
Each figure has a baseline measured in the same run, and the ratio between them:
- ingest of client vectors through `POST /users/{id}/documents/batch` vs a raw binary COPY of
  rows of the same kind into the same tables, one client each:
  * the goal's figure: --n/20 new documents per path (500 to 5,000) added to the --n loaded
    ones, every index present (HNSW, BM25 postings, GIN metadata), i.e. with index maintenance,
    as a running service inserts; the two paths alternate rounds of 1,000 documents;
  * for information: the bulk load of the --n documents into tables without indexes (the BM25
    postings are still written, by the triggers on chunks), and the same plus the index build
    (measured once and added to both: same rows, same statements);
  * each path's CPU per document, by process: the database backends writing, the rest of the
    database server, the API server, this bench (COPY; or JSON encoding and the HTTP client);
- search QPS of the service layer (`services.search.search`, one session per query from
  `db.get_read_db`, as a request has) vs hand-written SQL on a plain psycopg connection, same
  ef_search and k, passes interleaved, median pass kept; for information: the same over HTTP,
  a metadata filter matching 1 % of the documents (vs raw SQL with and without iterative index
  scans), hybrid and keyword search;
- recall@k of the results vs exact search (numpy brute force over the same vectors);
- the built-in embedders' rate on 500 real chunks (CPython's documentation, cut like the service
  cuts documents).
Data: one chunk per document, 384-d vectors from a Gaussian mixture shaped like sentence
embeddings (`bench.common.synthetic_dataset`), queries held out from the same distribution.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, LiteralString

import httpx
import numpy as np
import psutil
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.table import Table

from bench.common import (
    SHARDS,
    BenchDatabase,
    Dataset,
    Latencies,
    api_server,
    backend_cpu_ns,
    bench_database,
    build_indexes,
    drop_search_indexes,
    exact_top_k,
    median_pass,
    recall_at_k,
    run_interruptible,
    schedstat_ns,
    synthetic_dataset,
    time_calls,
    tree_cpu_s,
)
from pgsearch import db
from pgsearch.config import Settings
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.evaluation import load_corpus
from pgsearch.ingest.chunking import chunk_text
from pgsearch.models import User
from pgsearch.schemas import SearchRequest, SearchResponse
from pgsearch.search import query as search_query
from pgsearch.services import search as search_service
from pgsearch.services.documents import CHUNK_MAX_CHARS, CHUNK_OVERLAP

GOAL_INGEST_RATIO = 0.5
GOAL_QPS_RATIO = 0.8
GOAL_RECALL = 0.95
GOAL_RECALL_MIN_N = 100_000
FILTER_SHARD = 7  # {"shard": 7} matches 1/SHARDS of the documents
EMBED_CHUNKS = 500
INFO_QUERIES = 50  # hybrid and keyword: information only (bench.keyword measures them)
INCREMENT_MAX = 5_000  # documents added to the loaded index, per path

# Piped output (a file, the README) gets a fixed width instead of rich's 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
log = Console(stderr=True, highlight=False)
_started = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, with the time since start."""
    log.print(f"[dim]{time.monotonic() - _started:6.1f}s[/] {message}")


# -- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table."""

    what: str
    rate: float | None = None
    unit: str = "QPS"
    p50_ms: float | None = None
    recall: float | None = None
    results: float | None = None  # mean results per query
    baseline: Row | None = None
    # Ingest: CPU ms per document (IngestCpu.per_document_ms).
    cpu_ms: tuple[float, ...] | None = None

    @property
    def ratio(self) -> float | None:
        """This row's rate divided by its baseline's."""
        if self.baseline is None or self.rate is None or not self.baseline.rate:
            return None
        return self.rate / self.baseline.rate


@dataclass
class Report:
    """Everything the run measured."""

    header: list[str] = field(default_factory=list)
    sections: dict[str, list[Row]] = field(default_factory=dict)
    goals: list[tuple[str, str, str, bool | None]] = field(default_factory=list)

    def add(self, section: str, row: Row) -> Row:
        """Append `row` to `section` and return it."""
        self.sections.setdefault(section, []).append(row)
        return row


# -- ingest ----------------------------------------------------------------------------------


def api_server_pid() -> int:
    """The `pgsearch serve` subprocess this bench started (bench.common.api_server)."""
    for child in psutil.Process().children():
        if "serve" in child.cmdline():
            return int(child.pid)
    raise RuntimeError("no pgsearch serve subprocess")


@dataclass
class IngestCpu:
    """CPU seconds used while one ingest path ran, by process: the database backends that did
    the writing, the rest of the database server (autovacuum, WAL writer, checkpointer: work
    either path may have caused, landing in whichever ran then), the API server, and this
    process (the raw path's COPY; the API path's JSON encoding and HTTP client). Wall-clock
    rates on a shared machine also count waiting for a core; these do not.
    """

    database: BenchDatabase
    api: int  # the API server's pid
    server_s: float = 0.0  # every process of the database server
    backends_s: float = 0.0  # the writing backends: the API's pool, the raw path's connection
    api_s: float = 0.0
    client_s: float = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Add the CPU used during the block (`raw_copy` adds its own backend's)."""
        postmaster = self.database.postmaster_pid()
        with self.database.connect() as monitor:
            pool = sum(backend_cpu_ns(monitor).values())
            before = tree_cpu_s(postmaster), tree_cpu_s(self.api), time.process_time()
            yield
            self.backends_s += (sum(backend_cpu_ns(monitor).values()) - pool) / 1e9
            # Before the monitor's own backend exits: gone unreaped, its CPU would be missed.
            self.server_s += tree_cpu_s(postmaster) - before[0]
            self.api_s += tree_cpu_s(self.api) - before[1]
            self.client_s += time.process_time() - before[2]

    def per_document_ms(self, documents: int) -> tuple[float, ...]:
        """CPU ms per document: writing backends, the rest of the database server, the API
        server, this process."""
        ms = 1000 / documents
        other = self.server_s - self.backends_s
        return self.backends_s * ms, other * ms, self.api_s * ms, self.client_s * ms


def gone(pid: int) -> None:
    """Wait until a process (not ours) has exited and been reaped by its parent."""
    try:
        psutil.Process(pid).wait(timeout=10)
    except psutil.NoSuchProcess:
        pass


_COPY_DOCUMENTS: LiteralString = (
    "COPY documents (id, user_id, external_id, text, metadata, content_hash, chunk_count)"
    " FROM STDIN (FORMAT BINARY)"
)
_COPY_CHUNKS: LiteralString = (
    "COPY chunks (document_id, user_id, chunk_index, text, embedding) FROM STDIN (FORMAT BINARY)"
)


def raw_copy(
    database: BenchDatabase,
    ds: Dataset,
    rows: range,
    *,
    user_id: int,
    cpu: IngestCpu | None = None,
) -> float:
    """COPY documents `rows` and their chunks in one transaction, like a hand-written loader;
    seconds. `cpu`: its backend's CPU, from its start, added."""
    metadata = [Jsonb(ds.metadata(i)) for i in rows]
    hashes = [ds.content_hash(i) for i in rows]
    with database.connect(autocommit=False) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        # Chunks need their document's id: take a block of ids from the identity sequence.
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence('documents', 'id')) FROM generate_series(1, %s)",
            (len(rows),),
        )
        ids = [row[0] for row in cur.fetchall()]
        with cur.copy(_COPY_DOCUMENTS) as copy:
            copy.set_types(["int8", "int4", "text", "text", "jsonb", "text", "int4"])
            for j, (i, doc_id) in enumerate(zip(rows, ids, strict=True)):
                text = ds.texts[i]
                copy.write_row(
                    (doc_id, user_id, ds.external_id(i), text, metadata[j], hashes[j], 1)
                )
        with cur.copy(_COPY_CHUNKS) as copy:
            copy.set_types(["int8", "int4", "int4", "text", "vector"])
            for i, doc_id in zip(rows, ids, strict=True):
                copy.write_row((doc_id, user_id, 0, ds.texts[i], ds.vectors[i]))
        conn.commit()
        seconds = time.perf_counter() - start
        backend = conn.info.backend_pid
        if cpu is not None:
            cpu.backends_s += schedstat_ns(backend) / 1e9
    if cpu is not None:
        gone(backend)  # reaped, its CPU in the postmaster's children's: `IngestCpu.measure`
    return seconds


def reset_tables(database: BenchDatabase) -> None:
    """Empty documents and chunks; flush dirty pages so the next load starts from a clean state."""
    with database.connect() as conn:
        conn.execute("TRUNCATE documents RESTART IDENTITY CASCADE")
        conn.execute("CHECKPOINT")


def api_ingest(url: str, ds: Dataset, rows: range, *, user_id: int, batch: int) -> float:
    """POST documents `rows` in batches (one client, keep-alive); seconds spent in requests.

    Each body is JSON-encoded before its request's clock starts: a client's encoding is not the
    service's cost.
    """
    spent = 0.0
    with httpx.Client(base_url=url, timeout=600) as client:
        for first in range(rows.start, rows.stop, batch):
            docs = [
                {
                    "text": ds.texts[i],
                    "external_id": ds.external_id(i),
                    "metadata": ds.metadata(i),
                    "chunks": [{"text": ds.texts[i], "embedding": ds.vectors[i].tolist()}],
                }
                for i in range(first, min(first + batch, rows.stop))
            ]
            body = json.dumps({"documents": docs}).encode()
            start = time.perf_counter()
            response = client.post(
                f"/users/{user_id}/documents/batch",
                content=body,
                headers={"content-type": "application/json"},
            )
            spent += time.perf_counter() - start
            response.raise_for_status()
            if response.json()["inserted"] != len(docs):
                raise RuntimeError(f"batch at {first}: {response.json()['inserted']} inserted")
    return spent


def api_warm_up(url: str, ds: Dataset) -> None:
    """One small batch for a scratch user, then delete it: the server's first request is slow."""
    with httpx.Client(base_url=url, timeout=60) as client:
        user = client.post("/users", json={"name": "warm-up"}).raise_for_status().json()["id"]
        docs = [
            {
                "text": ds.texts[i],
                "metadata": {},
                "chunks": [{"text": ds.texts[i], "embedding": ds.vectors[i].tolist()}],
            }
            for i in range(20)
        ]
        client.post(f"/users/{user}/documents/batch", json={"documents": docs}).raise_for_status()
        client.delete(f"/users/{user}").raise_for_status()


# -- search ----------------------------------------------------------------------------------

# What `services.search.search` returns for a semantic query, hand-written: the k nearest chunks
# of one user (HNSW), joined to their documents. One chunk per document, so no dedup is needed.
_RAW_SEMANTIC: LiteralString = """
SELECT d.external_id, c.document_id, c.chunk_index, c.text, 1 - c.distance AS score, d.metadata
FROM (SELECT document_id, chunk_index, text, embedding <=> %(v)s AS distance
      FROM chunks WHERE user_id = %(u)s ORDER BY distance LIMIT %(k)s) AS c
JOIN documents AS d ON d.id = c.document_id
ORDER BY c.distance
"""
_RAW_FILTERED: LiteralString = """
SELECT d.external_id, c.document_id, c.chunk_index, c.text, 1 - c.distance AS score, d.metadata
FROM (SELECT c.document_id, c.chunk_index, c.text, c.embedding <=> %(v)s AS distance
      FROM chunks AS c JOIN documents AS d ON d.id = c.document_id
      WHERE c.user_id = %(u)s AND d.metadata @> %(f)s
      ORDER BY distance LIMIT %(k)s) AS c
JOIN documents AS d ON d.id = c.document_id
ORDER BY c.distance
"""


@dataclass
class Measured:
    """A query loop's median timed pass and the results of its last pass."""

    latencies: Latencies
    found: list[list[int]]  # document indexes per query, best first


def interleaved(
    calls: dict[str, Callable[[int], list[int]]], count: int, *, passes: int
) -> dict[str, Measured]:
    """Like `measure` for several loops, alternating them pass by pass so drift hits all alike."""
    found: dict[str, list[list[int]]] = {name: [[] for _ in range(count)] for name in calls}
    timed: dict[str, list[Latencies]] = {name: [] for name in calls}
    for p in range(passes + 1):  # pass 0 warms up
        for name, call in calls.items():

            def run(i: int, call: Callable[[int], list[int]] = call, name: str = name) -> None:
                found[name][i] = call(i)

            latencies = time_calls(run, count)
            if p > 0:
                timed[name].append(latencies)
    return {name: Measured(median_pass(timed[name]), found[name]) for name in calls}


def measure(call: Callable[[int], list[int]], count: int, *, passes: int) -> Measured:
    """Warm up once, then time `passes` passes over `count` queries; keep the median pass."""
    return interleaved({"only": call}, count, passes=passes)["only"]


def service_caller(
    requests: Sequence[SearchRequest], *, user_id: int, embedder: Embedder
) -> Callable[[int], list[int]]:
    """Query `i` through the service layer, in its own session like a request (`get_read_db`)."""

    def call(i: int) -> list[int]:
        with contextmanager(db.get_read_db)() as session:
            response: SearchResponse = search_service.search(
                session,
                user_id=user_id,
                request=requests[i],
                embedder=embedder,
            )
        return [Dataset.index_of(hit.external_id) for hit in response.results]

    return call


def raw_caller(
    conn: psycopg.Connection[Any],
    query: LiteralString,
    vectors: np.ndarray[Any, Any],
    *,
    user_id: int,
    k: int,
    extra: dict[str, Any] | None = None,
) -> Callable[[int], list[int]]:
    """Query `i` with hand-written SQL on one autocommit connection (psycopg prepares it)."""

    def call(i: int) -> list[int]:
        params = {"v": vectors[i], "u": user_id, "k": k, **(extra or {})}
        return [Dataset.index_of(row[0]) for row in conn.execute(query, params)]

    return call


def http_caller(
    client: httpx.Client, bodies: Sequence[bytes], *, user_id: int
) -> Callable[[int], list[int]]:
    """Query `i` through `POST /users/{id}/search` (bodies encoded beforehand)."""

    def call(i: int) -> list[int]:
        response = client.post(
            f"/users/{user_id}/search",
            content=bodies[i],
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        return [Dataset.index_of(hit["external_id"]) for hit in response.json()["results"]]

    return call


def service_sql_caller(
    conn: psycopg.Connection[Any], vectors: np.ndarray[Any, Any], *, user_id: int, k: int
) -> Callable[[int], list[int]]:
    """The service's own semantic SQL, compiled once and run raw: the same SQL, no Python layer."""
    stmt = search_query.statement("semantic")
    compiled = stmt.compile(dialect=db.get_engine().dialect)
    sql = str(compiled)
    # The statement's own literals (e.g. `pos = 1`) plus the search's values.
    params = {**compiled.params, **search_query.search_params(user_id=user_id, k=k)}
    col = list(stmt.selected_columns.keys()).index("external_id")

    def call(i: int) -> list[int]:
        rows = conn.execute(sql, {**params, "query_vector": vectors[i]}).fetchall()
        return [Dataset.index_of(row[col]) for row in rows]

    return call


def set_session(conn: psycopg.Connection[Any], settings: dict[str, str]) -> None:
    """Session-level settings of a plain connection (the raw baseline sets them once)."""
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))


def search_benchmarks(
    report: Report,
    database: BenchDatabase,
    url: str,
    ds: Dataset,
    *,
    n: int,
    user_id: int,
    k: int,
    ef_search: int,
    passes: int,
) -> None:
    """Semantic, hybrid, keyword and filtered search over documents 0..n-1: QPS and recall."""
    q = len(ds.query_vectors)
    section = f"search, one client: k={k}, ef_search={ef_search}, {q} queries"
    embedder = get_embedder("minilm")  # used only for its dimension: queries carry vectors
    truth = exact_top_k(ds.vectors[:n], ds.query_vectors, k=k)
    shard_rows = np.flatnonzero(ds.shards[:n] == FILTER_SHARD)
    filtered_truth = exact_top_k(ds.vectors, ds.query_vectors, k=k, candidates=shard_rows)
    vectors = [v.tolist() for v in ds.query_vectors]
    shard_filter = {"shard": FILTER_SHARD}

    def service(requests: Sequence[SearchRequest]) -> Callable[[int], list[int]]:
        return service_caller(requests, user_id=user_id, embedder=embedder)

    def raw(conn: psycopg.Connection[Any], query: LiteralString) -> Callable[[int], list[int]]:
        extra = {"f": Jsonb(shard_filter)} if query is _RAW_FILTERED else None
        return raw_caller(conn, query, ds.query_vectors, user_id=user_id, k=k, extra=extra)

    with database.connect() as conn, database.connect() as naive_conn:
        set_session(conn, {"hnsw.ef_search": str(ef_search)})
        with database.connect() as same_conn:
            # What the service sets on its pooled connections, set for the raw run of its SQL.
            register_vector(same_conn)
            set_session(same_conn, db.session_settings(database.config))
            say("semantic search: service layer and raw SQL, interleaved")
            semantic = [SearchRequest(vector=v, mode="semantic", k=k) for v in vectors]
            sem = interleaved(
                {
                    "service": service(semantic),
                    "same": service_sql_caller(same_conn, ds.query_vectors, user_id=user_id, k=k),
                    "raw": raw(conn, _RAW_SEMANTIC),
                },
                q,
                passes=passes,
            )
        same_row = _row("semantic, the service's SQL run raw (baseline)", sem["same"], truth)
        raw_row = _row("semantic, minimal hand-written SQL", sem["raw"], truth)
        report.add(section, _row("semantic, service layer", sem["service"], truth, same_row))
        report.add(section, same_row)
        report.add(
            section,
            _row("semantic, service layer vs minimal SQL", sem["service"], truth, raw_row),
        )
        report.add(section, raw_row)

        say("semantic search over HTTP")
        bodies = [json.dumps({"vector": v, "mode": "semantic", "k": k}).encode() for v in vectors]
        with httpx.Client(base_url=url, timeout=60) as client:
            m = measure(http_caller(client, bodies, user_id=user_id), q, passes=max(1, passes // 2))
        report.add(section, _row("semantic, HTTP API", m, truth, raw_row))

        say(
            f"filtered search: metadata {json.dumps(shard_filter)}, {100 / SHARDS:g} % of documents"
        )
        # The baseline turns iterative index scans on, like the service does; a connection
        # without them shows what a naive query returns (psycopg prepares it after 5 runs).
        set_session(conn, {"hnsw.iterative_scan": "relaxed_order"})
        set_session(naive_conn, {"hnsw.ef_search": str(ef_search)})
        filtered = [
            SearchRequest(vector=v, mode="semantic", k=k, filter=shard_filter) for v in vectors
        ]
        fil = interleaved(
            {
                "service": service(filtered),
                "raw": raw(conn, _RAW_FILTERED),
                "naive": raw(naive_conn, _RAW_FILTERED),
            },
            q,
            passes=max(1, passes // 2),
        )
        raw_f = _row("filtered 1 %, raw SQL, iterative scan", fil["raw"], filtered_truth)
        report.add(
            section, _row("filtered 1 %, service layer", fil["service"], filtered_truth, raw_f)
        )
        report.add(section, raw_f)
        report.add(
            section, _row("filtered 1 %, raw SQL, no iterative scan", fil["naive"], filtered_truth)
        )

    # Information only, and on fewer queries: the texts are made-up words; bench.keyword
    # measures keyword and hybrid search on real text.
    few = min(q, INFO_QUERIES)
    say(f"hybrid and keyword search, service layer ({few} queries)")
    hybrid = [
        SearchRequest(query=t, vector=v, mode="hybrid", k=k)
        for t, v in zip(ds.query_texts[:few], vectors[:few], strict=True)
    ]
    keyword = [SearchRequest(query=t, mode="keyword", k=k) for t in ds.query_texts[:few]]
    for what, requests in (("hybrid (RRF)", hybrid), ("keyword", keyword)):
        m = measure(service(requests), few, passes=1)
        report.add(section, _row(f"{what}, service layer ({few} queries)", m, None))


def _row(
    what: str, m: Measured, truth: np.ndarray[Any, Any] | None, baseline: Row | None = None
) -> Row:
    return Row(
        what,
        rate=m.latencies.qps,
        p50_ms=m.latencies.p50_ms,
        recall=None if truth is None else recall_at_k(m.found, truth),
        results=float(np.mean([len(f) for f in m.found])),
        baseline=baseline,
    )


def ingest_benchmarks(
    report: Report, database: BenchDatabase, url: str, ds: Dataset, *, n: int, batch: int
) -> int:
    """Bulk load of documents 0..n-1, API vs raw COPY, into index-less tables; returns the user.

    Leaves the n documents loaded (through the API), indexed and analysed, ready for searching.
    """
    section = "ingest, one client, 1 chunk per document"
    definitions = drop_search_indexes(database)
    api_warm_up(url, ds)
    reset_tables(database)
    user_id = create_user("bench")
    raw_cpu, api_cpu = ingest_meter(database), ingest_meter(database)
    say(f"bulk load without indexes: raw binary COPY of {n:,} documents")
    with raw_cpu.measure():
        raw_s = raw_copy(database, ds, range(n), user_id=user_id, cpu=raw_cpu)
    reset_tables(database)
    say(f"bulk load without indexes: API, {batch} documents per request")
    with api_cpu.measure():
        api_s = api_ingest(url, ds, range(n), user_id=user_id, batch=batch)
    say("building the HNSW, postings and GIN indexes")
    build_s = build_indexes(database, definitions)
    with database.connect() as conn:
        conn.execute("VACUUM (ANALYZE) documents, chunks")
    raw_row = Row(
        f"raw COPY, {n:,} docs, no indexes (baseline)",
        n / raw_s,
        "rows/s",
        cpu_ms=raw_cpu.per_document_ms(n),
    )
    report.add(
        section,
        Row(
            f"API, {n:,} docs, no indexes",
            n / api_s,
            "rows/s",
            baseline=raw_row,
            cpu_ms=api_cpu.per_document_ms(n),
        ),
    )
    report.add(section, raw_row)
    raw_built = Row("raw COPY + index build (baseline)", n / (raw_s + build_s), "rows/s")
    report.add(
        section, Row("API + index build", n / (api_s + build_s), "rows/s", baseline=raw_built)
    )
    report.add(section, raw_built)
    return user_id


def ingest_meter(database: BenchDatabase) -> IngestCpu:
    """A CPU meter for one ingest path (`IngestCpu`)."""
    return IngestCpu(database, api=api_server_pid())


def incremental_ingest(
    report: Report, database: BenchDatabase, url: str, ds: Dataset, *, n: int, m: int, batch: int
) -> None:
    """m new documents into the n-document tables, every index present: API vs raw COPY.

    Each path gets its own user and its own rows (from the same distribution), so neither
    inserts vectors the index already holds.
    """
    section = "ingest, one client, 1 chunk per document"
    say(f"ingest into the {n:,}-document index: raw COPY and API, {m:,} documents each")
    raw_user, api_user = create_user("raw-increment"), create_user("api-increment")
    raw_cpu, api_cpu = ingest_meter(database), ingest_meter(database)
    raw_s = api_s = 0.0
    # Alternating rounds: whichever path went first would otherwise pay for pulling the index
    # into memory, and both see the same index size and the same background load.
    step = 2 * batch
    for first in range(0, m, step):
        last = min(first + step, m)
        with raw_cpu.measure():
            raw_rows = range(n + first, n + last)
            raw_s += raw_copy(database, ds, raw_rows, user_id=raw_user, cpu=raw_cpu)
        api_rows = range(n + m + first, n + m + last)
        with api_cpu.measure():
            api_s += api_ingest(url, ds, api_rows, user_id=api_user, batch=batch)
    raw_row = Row(
        f"raw COPY, +{m:,} docs, indexes present (baseline)",
        m / raw_s,
        "rows/s",
        cpu_ms=raw_cpu.per_document_ms(m),
    )
    api_row = Row(
        f"API, +{m:,} docs, indexes present",
        m / api_s,
        "rows/s",
        baseline=raw_row,
        cpu_ms=api_cpu.per_document_ms(m),
    )
    # First in the table: this is the goal's figure (a running service inserts into its index).
    rows = report.sections[section]
    rows[:0] = [api_row, raw_row]


# -- embedding -------------------------------------------------------------------------------


def real_chunks(count: int) -> tuple[list[str], str]:
    """`count` chunks of real prose, cut like the service cuts documents, and their source."""
    texts = [doc.text for doc in load_corpus("cpython").docs]
    source = "CPython docs"
    chunks = [
        c for t in texts for c in chunk_text(t, max_chars=CHUNK_MAX_CHARS, overlap=CHUNK_OVERLAP)
    ]
    # Evenly spaced picks: a mix of every kind of document, not the first few.
    picks = np.linspace(0, len(chunks) - 1, num=min(count, len(chunks))).astype(int)
    return [chunks[i] for i in picks], source


def embedding_benchmarks(report: Report) -> None:
    """Chunks per second of the built-in embedders on real text (after loading the model)."""
    chunks, source = real_chunks(EMBED_CHUNKS)
    mean_chars = statistics.mean(len(c) for c in chunks)
    section = f"embedding: {len(chunks)} chunks of {source}, {mean_chars:.0f} chars on average"
    for name, runs in (("minilm", 1), ("wordllama", 5)):
        embedder = get_embedder(name)
        say(f"embedding with {name}")
        embedder.embed(chunks[:8])  # loads the model
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            embedder.embed(chunks)
            seconds.append(time.perf_counter() - start)
        report.add(
            section,
            Row(
                f"{name} ({embedder.name}, {embedder.dim}-d)",
                rate=len(chunks) / statistics.median(seconds),
                unit="chunks/s",
            ),
        )


# -- the run ---------------------------------------------------------------------------------


def database_facts(database: BenchDatabase) -> str:
    """Versions and the settings that matter for these numbers."""
    with database.connect() as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'vector'),"
            " current_setting('shared_buffers'),"
            " pg_size_pretty(pg_relation_size('ix_chunks_embedding_hnsw'))"
        ).fetchone()
    assert row is not None
    return (
        f"PostgreSQL {row[0]}, pgvector {row[1]}, shared_buffers {row[2]} (server default); "
        f"HNSW m=16, ef_construction=64: {row[3]}"
    )


def create_user(name: str) -> int:
    """A user row, committed."""
    with db.get_sessionmaker().begin() as session:
        user = User(name=name)
        session.add(user)
        session.flush()
        return user.id


def run(args: argparse.Namespace) -> Report:
    """Every measurement, in an order that keeps them independent."""
    report = Report()
    n = args.n
    m = max(500, min(INCREMENT_MAX, n // 20))
    say(f"generating {n + 2 * m:,} vectors and {args.queries} queries")
    ds = synthetic_dataset(n=n + 2 * m, n_queries=args.queries, seed=args.seed)
    report.header.append(f"data: {n:,} documents x 1 chunk, 384-d; {ds.description}")
    settings = {
        "PGSEARCH_EMBEDDING_MODEL": "minilm",  # 384-d, the vector(384) column
        "PGSEARCH_HNSW_EF_SEARCH": str(args.ef_search),  # the HTTP server's search, too
    }
    with bench_database(settings) as database:
        say("starting the API server")
        with api_server(database) as url:
            user_id = ingest_benchmarks(report, database, url, ds, n=n, batch=args.batch)
            report.header.append(database_facts(database))
            search_benchmarks(
                report,
                database,
                url,
                ds,
                n=n,
                user_id=user_id,
                k=args.k,
                ef_search=args.ef_search,
                passes=args.passes,
            )
            incremental_ingest(report, database, url, ds, n=n, m=m, batch=args.batch)
    if not args.no_embed:
        embedding_benchmarks(report)
    _goals(report, args, n=n)
    return report


def _goals(report: Report, args: argparse.Namespace, *, n: int) -> None:
    rows = [row for rows in report.sections.values() for row in rows]
    ingest = next(r for r in rows if r.what.startswith("API, +"))
    svc = next(r for r in rows if r.what == "semantic, service layer")
    flt = next(r for r in rows if r.what == "filtered 1 %, service layer")
    assert ingest.ratio is not None and svc.ratio is not None
    assert svc.recall is not None and flt.results is not None and flt.recall is not None
    report.goals += [
        (
            "ingest API / raw COPY (indexes present)",
            f"{ingest.ratio:.2f}x",
            f">= {GOAL_INGEST_RATIO}x",
            ingest.ratio >= GOAL_INGEST_RATIO,
        ),
        (
            "search QPS service / the same SQL run raw",
            f"{svc.ratio:.2f}x",
            f">= {GOAL_QPS_RATIO}x",
            svc.ratio >= GOAL_QPS_RATIO,
        ),
        (
            f"recall@{args.k} HNSW vs exact, {n:,} vectors",
            f"{svc.recall:.3f}",
            f">= {GOAL_RECALL}, n >= {GOAL_RECALL_MIN_N:,}",
            svc.recall >= GOAL_RECALL if n >= GOAL_RECALL_MIN_N else None,
        ),
        (
            "filtered 1 %: results/query; recall",
            f"{flt.results:.2f}; {flt.recall:.3f}",
            f"{args.k}; >= {GOAL_RECALL}",
            flt.results == args.k and flt.recall >= GOAL_RECALL,
        ),
    ]


def print_report(report: Report, *, elapsed: float) -> None:
    """The results table, then the goals."""
    for line in report.header:
        out.print(line, soft_wrap=True)
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in (
        ("measurement", "left"),
        ("rate", "right"),
        ("p50 ms", "right"),
        ("recall@k", "right"),
        ("results/q", "right"),
        ("vs baseline", "right"),
        ("CPU ms/doc", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for section, rows in report.sections.items():
        table.add_section()
        table.add_row(f"[bold]{section}[/]")
        for row in rows:
            table.add_row(
                "  " + row.what,
                "" if row.rate is None else f"{row.rate:,.0f} {row.unit}",
                "" if row.p50_ms is None else f"{row.p50_ms:.2f}",
                "" if row.recall is None else f"{row.recall:.3f}",
                "" if row.results is None else f"{row.results:.2f}",
                "" if row.ratio is None else f"{row.ratio:.2f}x",
                "" if row.cpu_ms is None else " + ".join(f"{ms:.2f}" for ms in row.cpu_ms),
            )
    out.print(table)
    out.print(
        "CPU ms/doc: the database backends writing + the rest of the database server + the API"
        " server + this process"
    )
    goals = Table(show_edge=False, pad_edge=False, title_justify="left")
    for name in ("goal", "measured", "target", "verdict"):
        goals.add_column(name)
    for goal, measured, target, ok in report.goals:
        verdict = (
            "[dim]n/a (smaller run)[/]"
            if ok is None
            else ("[green]PASS[/]" if ok else "[red]MISS[/]")
        )
        goals.add_row(goal, measured, target, verdict)
    out.print()
    out.print(goals)
    out.print(f"\ntotal runtime {elapsed:.0f} s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=100_000, help="documents (1 chunk each)")
    parser.add_argument("--queries", type=int, default=200, help="held-out query vectors")
    parser.add_argument("--k", type=int, default=10, help="results per query")
    parser.add_argument(
        "--ef-search",
        type=int,
        default=Settings().hnsw_ef_search,
        help="hnsw.ef_search (default: the service's PGSEARCH_HNSW_EF_SEARCH)",
    )
    parser.add_argument("--batch", type=int, default=500, help="documents per API request")
    parser.add_argument("--passes", type=int, default=5, help="timed passes (median is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20k documents, 3 passes")
    parser.add_argument("--no-embed", action="store_true", help="skip the embedding rates")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.passes = 20_000, 3
    if args.n < SHARDS * args.k:
        parser.error(f"--n must be at least {SHARDS * args.k} (the filter check needs k matches)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    report = run_interruptible(lambda: run(args))
    if report is None:
        return 130
    print_report(report, elapsed=time.monotonic() - _started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
