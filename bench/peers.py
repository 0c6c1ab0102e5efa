"""pgsearch's HTTP search against Chroma's server (`chroma run`) on the same work, side by side.

Work: man-page chunks (bench/manpages.py) embedded once by the built-in `wordllama` model
(256-d); both systems get the same vectors over HTTP (pgsearch as one document per chunk with a
client vector, Chroma as a cosine collection), and answer the same queries, the pages' NAME lines
embedded by the same model, k = 10, each returning ids, texts, metadata and scores. Every phase
alternates the systems pass by pass, so drift on a shared machine hits both alike; the median
pass counts. Server CPU is the user + system time of each server's process tree (for pgsearch
the API processes and PostgreSQL's) over the timed passes, divided by the searches served.
Recall@10 is against exact cosine search over the same vectors. PostgreSQL's statistics are
collected (ANALYZE) after the load, as autovacuum would within a minute or so; the p50 before
that is printed once.

Run: uv run --group bench python -m bench.peers [--chunks 8500] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from numpy.typing import NDArray

from bench.common import (
    Latencies,
    api_server,
    bench_database,
    exact_top_k,
    exit_cleanly_on_sigterm,
    free_port,
    median_pass,
    recall_at_k,
    running_server,
    time_calls,
)
from bench.manpages import ManChunk, load_manpages, manpage_chunks
from pgsearch.embedding import get_embedder

CHROMA_BASE = "/api/v2/tenants/default_tenant/databases/default_database"
BATCH = 500  # documents per ingest request, both systems
JSON = {"content-type": "application/json"}

Search = Callable[[httpx.Client, int], list[int]]


def say(message: str) -> None:
    """A progress line, flushed so a long run shows where it is."""
    print(f"[peers] {message}", flush=True)  # noqa: T201


# -- the servers -----------------------------------------------------------------------------


@dataclass
class Peer:
    """A running server: where it listens, how to search it, which processes do its work."""

    name: str
    url: str
    search: Search
    roots: list[int]  # pids whose process trees are the server's CPU

    def processes(self) -> list[psutil.Process]:
        """The root processes and all their descendants, right now."""
        procs: list[psutil.Process] = []
        for pid in self.roots:
            root = psutil.Process(pid)
            procs += [root, *root.children(recursive=True)]
        return procs


def cpu_seconds(procs: Sequence[psutil.Process]) -> dict[tuple[int, float], float]:
    """User + system CPU per process, keyed by (pid, create time) so a reused pid is new."""
    out: dict[tuple[int, float], float] = {}
    for p in procs:
        try:
            with p.oneshot():
                t = p.cpu_times()
                out[(p.pid, p.create_time())] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


@contextmanager
def cpu_meter(peer: Peer) -> Iterator[list[float]]:
    """Yields a list that holds, after the block, the CPU seconds the server's tree used in it.

    A process started inside the block counts from zero; one that ended inside it is lost (the
    servers keep their workers and pooled connections, so that is rare).
    """
    before = cpu_seconds(peer.processes())
    result: list[float] = []
    yield result
    after = cpu_seconds(peer.processes())
    result.append(sum(t - before.get(key, 0.0) for key, t in after.items()))


def settle(peer: Peer, *, timeout: float = 120.0) -> None:
    """Wait until the server's processes are idle (workers still importing would count as work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cpu_meter(peer) as cpu:
            time.sleep(0.5)
        if cpu[0] < 0.05:
            return
    say(f"{peer.name} did not become idle in {timeout:.0f} s; measuring anyway")


@contextmanager
def chroma_server(tmp_dir: Path) -> Iterator[tuple[str, int]]:
    """Run `chroma run` on a fresh data dir under tmp_dir; yields (base URL, pid)."""
    chroma = shutil.which("chroma", path=sysconfig.get_path("scripts"))
    if chroma is None:
        raise SystemExit("chroma is not installed: run with `uv run --group bench ...`")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [chroma, "run", "--path", str(tmp_dir / "chroma"), "--host", "127.0.0.1"]
    with running_server(
        [*command, "--port", str(port)],
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        log_path=tmp_dir / "chroma.log",
        ready_url=f"{url}/api/v2/heartbeat",
    ) as proc:
        yield url, proc.pid


# -- loading ---------------------------------------------------------------------------------


def load_pgsearch(url: str, chunks: Sequence[ManChunk], vectors: NDArray[np.float32]) -> int:
    """A user holding one document per chunk (with its client vector); returns the user id."""
    with httpx.Client(base_url=url, timeout=600) as client:
        user = client.post("/users", json={"name": "peers"}).raise_for_status().json()["id"]
        for first in range(0, len(chunks), BATCH):
            docs = [
                {
                    "text": c.text,
                    "external_id": str(i),
                    "metadata": {"page": c.name, "section": c.section},
                    "chunks": [{"text": c.text, "embedding": vectors[i].tolist()}],
                }
                for i, c in enumerate(chunks[first : first + BATCH], start=first)
            ]
            client.post(
                f"/users/{user}/documents/batch", json={"documents": docs}
            ).raise_for_status()
    return int(user)


def load_chroma(url: str, chunks: Sequence[ManChunk], vectors: NDArray[np.float32]) -> str:
    """A cosine collection holding every chunk; returns the collection id."""
    import chromadb

    host, port = url.removeprefix("http://").split(":")
    collection = chromadb.HttpClient(host=host, port=int(port)).create_collection(
        "peers", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    with httpx.Client(base_url=url, timeout=600) as client:
        for first in range(0, len(chunks), BATCH):
            part = range(first, min(first + BATCH, len(chunks)))
            body = {
                "ids": [str(i) for i in part],
                "embeddings": vectors[part.start : part.stop].tolist(),
                "documents": [chunks[i].text for i in part],
                "metadatas": [{"page": chunks[i].name, "section": chunks[i].section} for i in part],
            }
            client.post(
                f"{CHROMA_BASE}/collections/{collection.id}/add", json=body
            ).raise_for_status()
    return str(collection.id)


def pgsearch_search(user: int, queries: NDArray[np.float32], k: int) -> Search:
    """Query `i` as POST /users/{id}/search with a client vector (bodies encoded beforehand)."""
    bodies = [
        json.dumps({"vector": q.tolist(), "mode": "semantic", "k": k}).encode() for q in queries
    ]

    def search(client: httpx.Client, i: int) -> list[int]:
        r = client.post(f"/users/{user}/search", content=bodies[i % len(bodies)], headers=JSON)
        return [int(hit["external_id"]) for hit in r.raise_for_status().json()["results"]]

    return search


def chroma_search(collection: str, queries: NDArray[np.float32], k: int) -> Search:
    """Query `i` through Chroma's query endpoint, asking for what pgsearch returns."""
    include = ["documents", "metadatas", "distances"]
    bodies = [
        json.dumps({"query_embeddings": [q.tolist()], "n_results": k, "include": include}).encode()
        for q in queries
    ]

    def search(client: httpx.Client, i: int) -> list[int]:
        r = client.post(
            f"{CHROMA_BASE}/collections/{collection}/query",
            content=bodies[i % len(bodies)],
            headers=JSON,
        )
        return [int(x) for x in r.raise_for_status().json()["ids"][0]]

    return search


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    """One system's numbers in one phase."""

    latencies: Latencies | None = None  # 1 client: the median pass
    qps: list[float] = field(default_factory=list)  # per pass
    cpu_per_search: list[float] = field(default_factory=list)  # per pass, seconds
    found: list[list[int]] = field(default_factory=list)
    errors: int = 0
    # Many clients: per pass, the busiest connection's answers over the idlest's (1 = even).
    spread: list[float] = field(default_factory=list)


def one_client(peers: Sequence[Peer], count: int, *, passes: int) -> dict[str, Result]:
    """Each peer answers `count` queries from one client per pass, peers alternating."""
    results = {p.name: Result(found=[[] for _ in range(count)]) for p in peers}
    timed: dict[str, list[Latencies]] = {p.name: [] for p in peers}
    clients = {p.name: httpx.Client(base_url=p.url, timeout=60) for p in peers}
    try:
        for n in range(passes + 1):  # pass 0 warms up
            for peer in peers:
                result, client = results[peer.name], clients[peer.name]

                def call(i: int, peer: Peer = peer, r: Result = result, c: Any = client) -> None:
                    r.found[i] = peer.search(c, i)

                with cpu_meter(peer) as cpu:
                    latencies = time_calls(call, count)
                if n > 0:
                    timed[peer.name].append(latencies)
                    result.qps.append(latencies.qps)
                    result.cpu_per_search.append(cpu[0] / count)
    finally:
        for c in clients.values():
            c.close()
    for peer in peers:
        results[peer.name].latencies = median_pass(timed[peer.name])
    return results


def _client_loop(peer: Peer, t: int, stop: float, done: list[int], errors: list[int]) -> None:
    """Client `t`: search until `stop`, counting answers and errors in slot t."""
    with httpx.Client(base_url=peer.url, timeout=60) as client:
        i = t * 7919  # clients start at different queries
        while time.monotonic() < stop:
            try:
                peer.search(client, i)
                done[t] += 1
            except httpx.HTTPError:
                errors[t] += 1
            i += 1


def run_clients(peer: Peer, *, clients: int, seconds: float) -> tuple[list[int], list[int], float]:
    """`clients` threads, each with its own keep-alive connection, search `peer` for `seconds`:
    the answers and the errors of each, and the seconds they took."""
    done, errors = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client_loop, args=(peer, t, stop, done, errors))
        for t in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, errors, time.perf_counter() - start


def many_clients(
    peers: Sequence[Peer], *, clients: int, seconds: float, passes: int
) -> dict[str, Result]:
    """`run_clients` on each peer, `passes` times."""
    results = {p.name: Result() for p in peers}
    for n in range(passes + 1):
        for peer in peers:
            with cpu_meter(peer) as cpu:
                done, errors, elapsed = run_clients(peer, clients=clients, seconds=seconds)
            if n > 0:  # pass 0 warms up
                r = results[peer.name]
                r.qps.append(sum(done) / elapsed)
                r.cpu_per_search.append(cpu[0] / max(1, sum(done)))
                r.errors += sum(errors)
                r.spread.append(max(done) / max(1, min(done)))
    return results


# -- the run ---------------------------------------------------------------------------------


def embed_work(
    args: argparse.Namespace,
) -> tuple[list[ManChunk], NDArray[np.float32], NDArray[np.float32]]:
    """The chunks, their vectors, and query vectors: NAME lines of pages spread over all pages.

    The gcloud pages are left out: 16,000 pages of one CLI would make most queries alike.
    """
    pages = load_manpages(exclude_prefixes=("gcloud",))
    chunks = manpage_chunks(args.chunks, pages=pages)
    lines = [p.synopsis_line for p in pages if p.synopsis_line]
    picks = np.linspace(0, len(lines) - 1, num=min(args.queries, len(lines))).astype(int)
    embedder = get_embedder("wordllama")
    vectors = embedder.embed([c.text for c in chunks])
    queries = embedder.embed([lines[i] for i in picks])
    return chunks, vectors, queries


def server_pid(url: str) -> int:
    """The pid of our `pgsearch serve` child listening at url (api_server yields only the URL)."""
    port = url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        cmdline = child.cmdline()
        if "pgsearch.cli" in cmdline and port in cmdline:
            return int(child.pid)
    raise RuntimeError(f"no pgsearch server process for {url}")


Row = tuple[str, float, float, str]  # measure, pgsearch, Chroma, format


def phase_rows(label: str, results: dict[str, Result], *, single: bool) -> list[Row]:
    """The table rows of one phase."""
    pg, ch = results["pgsearch"], results["Chroma"]
    rows: list[Row] = []
    if single:
        assert pg.latencies is not None and ch.latencies is not None
        rows.append((f"{label}: p50 ms", pg.latencies.p50_ms, ch.latencies.p50_ms, ".2f"))
    rows.append((f"{label}: QPS", statistics.median(pg.qps), statistics.median(ch.qps), ".0f"))
    cpu_pg = statistics.median(pg.cpu_per_search) * 1e3
    cpu_ch = statistics.median(ch.cpu_per_search) * 1e3
    rows.append((f"{label}: server CPU ms/search", cpu_pg, cpu_ch, ".2f"))
    if pg.spread and ch.spread:
        spread = statistics.median(pg.spread), statistics.median(ch.spread)
        rows.append((f"{label}: answers per connection, max / min", *spread, ".2f"))
    if pg.errors or ch.errors:
        rows.append((f"{label}: errors", pg.errors, ch.errors, ".0f"))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    """Every phase; returns the table rows."""
    say("loading and embedding man pages")
    chunks, vectors, queries = embed_work(args)
    pages = len({c.name for c in chunks})
    say(f"{len(chunks):,} chunks of {pages} man pages, {len(queries)} queries")
    truth = exact_top_k(vectors, queries, k=args.k)
    rows: list[Row] = []
    # wordllama: pgsearch accepts the 256-d client vectors of the model it is set up with.
    with (
        bench_database({"PGSEARCH_EMBEDDING_MODEL": "wordllama"}) as database,
        chroma_server(database.tmp_dir) as (chroma_url, chroma_pid),
    ):
        postgres = database.postmaster_pid()
        with api_server(database) as pg_url:
            say("ingesting")
            start = time.perf_counter()
            user = load_pgsearch(pg_url, chunks, vectors)
            pg_ingest = time.perf_counter() - start
            start = time.perf_counter()
            collection = load_chroma(chroma_url, chunks, vectors)
            ch_ingest = time.perf_counter() - start
            rows.append(
                ("ingest chunks/s", len(chunks) / pg_ingest, len(chunks) / ch_ingest, ".0f")
            )
            pg_search = pgsearch_search(user, queries, args.k)
            pg = Peer("pgsearch", pg_url, pg_search, [postgres, server_pid(pg_url)])
            chroma = Peer(
                "Chroma", chroma_url, chroma_search(collection, queries, args.k), [chroma_pid]
            )
            # Right after a bulk load PostgreSQL has no statistics on the new rows, may plan an
            # exact scan instead of the HNSW index, and stays so until autovacuum analyzes the
            # table (up to a minute or more). Show that once, then measure the steady state.
            with httpx.Client(base_url=pg_url, timeout=60) as client:
                stale = time_calls(lambda i: pg_search(client, i), min(100, len(queries)))
            say(f"pgsearch before ANALYZE: p50 {stale.p50_ms:.1f} ms")
            with database.connect() as conn:
                conn.execute("ANALYZE")
            settle(pg)
            settle(chroma)
            say("1 client")
            single = one_client([pg, chroma], len(queries), passes=args.passes)
            recall = [recall_at_k(single[p.name].found, truth) for p in (pg, chroma)]
            rows.append((f"recall@{args.k} vs exact search", recall[0], recall[1], ".3f"))
            rows += phase_rows("1 client", single, single=True)
            say(f"{args.clients} clients")
            many = many_clients(
                [pg, chroma], clients=args.clients, seconds=args.seconds, passes=args.passes
            )
            rows += phase_rows(f"{args.clients} clients", many, single=False)
        if args.workers > 1:
            with api_server(database, workers=args.workers) as pg_url:
                root = server_pid(pg_url)
                pg = Peer("pgsearch", pg_url, pg_search, [postgres, root])
                settle(pg)
                workers = sum("spawn_main" in " ".join(c.cmdline()) for c in pg.processes())
                say(f"{args.clients} clients, pgsearch with {args.workers} workers ({workers} up)")
                many = many_clients(
                    [pg, chroma], clients=args.clients, seconds=args.seconds, passes=args.passes
                )
                label = f"{args.clients} clients, {args.workers} pgsearch workers"
                rows += phase_rows(label, many, single=False)
    return rows


def print_table(rows: Sequence[Row], *, elapsed: float) -> None:
    """A Markdown table with the ratio pgsearch / Chroma."""
    print("| measure | pgsearch | Chroma | pgsearch / Chroma |")  # noqa: T201
    print("|---|---:|---:|---:|")  # noqa: T201
    for what, pg, ch, fmt in rows:
        ratio = f"{pg / ch:.2f}" if ch else "-"
        print(f"| {what} | {pg:{fmt}} | {ch:{fmt}} | {ratio} |")  # noqa: T201
    print(f"\n(ran {elapsed:.0f} s; QPS and CPU are medians of passes, p50 of the median pass)")  # noqa: T201


def add_work_arguments(parser: argparse.ArgumentParser, *, seconds: float) -> None:
    """The options of the work (`embed_work`, k) and of the many-clients phase; bench.revisions
    measures the same work."""
    parser.add_argument("--chunks", type=int, default=8500)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=seconds, help="per pass with many clients")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_work_arguments(parser, seconds=5.0)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="pgsearch workers, last phase")
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    start = time.perf_counter()
    rows = run(args)
    print_table(rows, elapsed=time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
