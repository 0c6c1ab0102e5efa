"""Many users in one database: one big user beside many small ones, through the service layer.

Run:  uv run --group bench python -m bench.users          (1,000 and 300 users x 100 + one of 20k)
      uv run --group bench python -m bench.users --quick  (250 and 75 users x 100 + one of 5k)

Two layouts on a throwaway embedded PostgreSQL, each loaded by binary COPY, indexed, then
VACUUM (the BM25 postings and per-user statistics are written by the triggers on chunks): the
big user holds ~17 % of the chunks, then ~40 %. Each is measured twice: with statistics taken
before the big user's chunks arrived (as right after a large ingest, before autovacuum's
ANALYZE), then after ANALYZE. Every query goes through `services.search.search` in its own
`db.get_read_db` session, as a request does, with client vectors (and the query's words for
keyword and hybrid). Every mode gets the same queries and passes (the classes take turns every
10 queries).
Per user class: p50/p95 latency, CPU time per query (this process's and the database
backends': wall time on a shared machine also counts waiting for a core), results per query
(semantic and hybrid must give k; keyword min(k, matching documents)), semantic recall@k
against exact search (numpy over that user's vectors) and keyword recall@10 against exact BM25
of that user's chunks (`bm25s` over the service's own lexemes, as bench/keyword.py; a document
tied with the 10th counts). Data:
documents of one chunk, 384-d, from `bench.common.synthetic_dataset`; each small query goes to a
random small user. `--explain` adds, per mode and class, what one search's statements read once
prepared (auto_explain: their scans, rows and buffers), to catch a plan that scans a table;
what pgsearch_bm25's C functions read (postings, the chunks they score) counts in the buffers
but is not a scan of the plan.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, LiteralString

import numpy as np
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.table import Table

from bench.common import (
    BenchDatabase,
    Dataset,
    backend_cpu_ns,
    bench_database,
    build_indexes,
    drop_search_indexes,
    exact_top_k,
    recall_at_k,
    run_interruptible,
    synthetic_dataset,
)
from bench.keyword import Truth, exact_bm25
from bench.search import service_caller
from pgsearch import db
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.schemas import SearchMode, SearchRequest
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services import search as search_service
from pgsearch.services import user_facts
from pgsearch.services.index import check_model

GOAL_RECALL = 0.95
KEYWORD_RECALL_K = 10  # bench.keyword's exact BM25 keeps the top 10
MODES: tuple[SearchMode, ...] = ("semantic", "keyword", "hybrid")
GOAL_SHARE_RATIO = 1.5  # big user's p50 at the larger share / at the smaller share
BIG_USER = 1
BLOCK = 10  # queries of one class before the next class's turn

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
log = Console(stderr=True, highlight=False)
_started = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, with the time since start."""
    log.print(f"[dim]{time.monotonic() - _started:6.1f}s[/] {message}")


@dataclass(frozen=True, slots=True)
class Layout:
    """Rows 0..big-1 belong to user 1; then `per_user` rows to each of users 2..small+1."""

    big: int
    small: int
    per_user: int

    @property
    def n(self) -> int:
        """Chunks in the table."""
        return self.big + self.small * self.per_user

    @property
    def share(self) -> float:
        """The big user's share of the chunks."""
        return self.big / self.n

    def rows(self, user_id: int) -> range:
        """The dataset rows of `user_id`."""
        if user_id == BIG_USER:
            return range(self.big)
        first = self.big + (user_id - 2) * self.per_user
        return range(first, first + self.per_user)

    def user_ids(self) -> NDArrayInt:
        """The owner of every row."""
        small = np.repeat(np.arange(2, self.small + 2), self.per_user)
        return np.concatenate([np.full(self.big, BIG_USER), small])


NDArrayInt = np.ndarray[Any, np.dtype[np.int64]]

_COPY_DOCUMENTS: LiteralString = (
    "COPY documents (id, user_id, external_id, text, metadata, content_hash, chunk_count)"
    " FROM STDIN (FORMAT BINARY)"
)
_COPY_CHUNKS: LiteralString = (
    "COPY chunks (document_id, user_id, chunk_index, text, embedding) FROM STDIN (FORMAT BINARY)"
)


# The tables a search reads (the BM25 ones written by triggers on chunks).
_SEARCHED = ("documents", "chunks", "bm25_stats", "bm25_df", "bm25_postings")


def load(database: BenchDatabase, ds: Dataset, layout: Layout) -> None:
    """Empty the tables and COPY the layout in: the small users, ANALYZE, then the big user.

    Indexes are built after the load, then VACUUM (which updates the row count, not the
    statistics): the statistics are stale as right after a user's large ingest, before
    autovacuum's ANALYZE (turned off on the tables searched here, so the state holds while
    measuring). The BM25 tables, written by the triggers on chunks, are treated alike.
    """
    definitions = drop_search_indexes(database)
    owners = layout.user_ids()
    with database.connect() as conn:
        # The BM25 tables too: TRUNCATE fires no trigger, and they hold no foreign keys.
        conn.execute(f"TRUNCATE users, {', '.join(_SEARCHED)} RESTART IDENTITY CASCADE")
        for table in _SEARCHED:
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        conn.execute(
            "INSERT INTO users (id, name) SELECT i, 'user ' || i FROM generate_series(1, %s) i",
            (layout.small + 1,),
        )
    _copy(database, ds, owners, range(layout.big, layout.n))
    analyze(database)
    _copy(database, ds, owners, range(layout.big))
    build_indexes(database, definitions)
    with database.connect() as conn:
        conn.execute(f"VACUUM users, {', '.join(_SEARCHED)}")


def analyze(database: BenchDatabase) -> None:
    """ANALYZE the tables a search reads, as autovacuum would in time."""
    with database.connect() as conn:
        conn.execute(f"ANALYZE {', '.join(_SEARCHED)}")


def _copy(database: BenchDatabase, ds: Dataset, owners: NDArrayInt, rows: range) -> None:
    meta = Jsonb({"source": "bench"})
    with database.connect(autocommit=False) as conn, conn.cursor() as cur:
        with cur.copy(_COPY_DOCUMENTS) as copy:
            copy.set_types(["int8", "int4", "text", "text", "jsonb", "text", "int4"])
            for i in rows:
                row = (i + 1, int(owners[i]), ds.external_id(i), ds.texts[i], meta, "-", 1)
                copy.write_row(row)
        with cur.copy(_COPY_CHUNKS) as copy:
            copy.set_types(["int8", "int4", "int4", "text", "vector"])
            for i in rows:
                copy.write_row((i + 1, int(owners[i]), 0, ds.texts[i], ds.vectors[i]))
        conn.commit()


_MATCHING: LiteralString = """
SELECT count(DISTINCT document_id) FROM chunks
WHERE user_id = %s AND tsv @@ replace(plainto_tsquery('english', %s)::text, '&', '|')::tsquery
"""


@dataclass
class Line:
    """One row of the results table."""

    layout: str
    mode: str
    user: str
    p50_ms: float
    p95_ms: float
    # CPU time per query (median pass): this process's, and the database backends'.
    client_cpu_ms: float
    server_cpu_ms: float
    results: float
    expected: float
    recall: float | None
    plan: str = ""  # `--explain`: what one prepared search statement read


@dataclass
class Queries:
    """One user class's queries: the user and the dataset query of each."""

    users: list[int]
    picks: NDArrayInt
    # Keyword: exact BM25 per query, computed once per layout (statistics do not change it).
    truth: list[Truth] | None = field(default=None)


def user_queries(layout: Layout, args: argparse.Namespace) -> dict[str, Queries]:
    """The big user's queries and the small users' (each to a random small user)."""
    q = args.queries
    rng = np.random.default_rng(args.seed + 1)
    small = [int(u) for u in rng.integers(2, layout.small + 2, q)]
    # Separate query vectors and texts per class.
    return {
        "big": Queries([BIG_USER] * q, np.arange(q)),
        "small": Queries(small, np.arange(q, 2 * q)),
    }


def measure_layout(
    database: BenchDatabase,
    ds: Dataset,
    layout: Layout,
    queries: dict[str, Queries],
    args: argparse.Namespace,
    *,
    stats: str,
) -> list[Line]:
    """Every mode for the big user and for small users, the classes' passes interleaved.

    `--cold`: each class also with what the service remembers of a user (services/user_facts:
    whether it takes the HNSW path, its documents' languages) forgotten before every query,
    as for a user's first search in 30 s: among 1,000 users, most searches of a small one.
    """
    k, count = args.k, args.queries
    embedder = get_embedder("minilm")  # its dimension only: queries carry vectors
    name = f"{layout.share:.0%} of {layout.n:,}, {stats} stats"
    lines: list[Line] = []
    for mode in MODES:
        calls: dict[str, Callable[[int], list[int]]] = {}
        expected: dict[str, list[int]] = {}
        for cls, qs in queries.items():
            requests = [_request(mode, ds, int(qs.picks[i]), k) for i in range(count)]
            calls[cls] = _caller(requests, qs.users, embedder, cold=False)
            if args.cold:
                calls[f"{cls}, cold"] = _caller(requests, qs.users, embedder, cold=True)
            if mode == "keyword":
                expected[cls] = _matching(database, ds, qs, k)
            else:
                expected[cls] = [k] * count  # every user has more than k documents
        say(f"{name}: {mode}, {count} queries per class, {args.passes} passes")
        measured = timed_passes(database, calls, count, passes=args.passes)
        for label, m in measured.items():
            cls, _, cold = label.partition(", ")
            qs = queries[cls]
            seconds = np.asarray(m.seconds) * 1000
            recall = None
            if mode == "semantic":
                recall = _semantic_recall(ds, layout, qs, m.found, k)
            elif mode == "keyword" and k == KEYWORD_RECALL_K:
                recall = _keyword_recall(database, ds, qs, m.found)
            plan = ""
            if args.explain:
                request = _request(mode, ds, int(qs.picks[0]), k)
                plan = explain(request, qs.users[0], embedder, cold=bool(cold))
            lines.append(
                Line(
                    layout=name,
                    mode=mode,
                    user=label,
                    p50_ms=float(np.percentile(seconds, 50)),
                    p95_ms=float(np.percentile(seconds, 95)),
                    client_cpu_ms=m.client_cpu_ms,
                    server_cpu_ms=m.server_cpu_ms,
                    results=float(np.mean([len(f) for f in m.found])),
                    expected=float(np.mean(expected[cls])),
                    recall=recall,
                    plan=plan,
                )
            )
    return lines


@dataclass
class Timed:
    """One class's timed passes: the median pass's latencies, CPU per query, results."""

    seconds: list[float]
    client_cpu_ms: float
    server_cpu_ms: float
    found: list[list[int]]


def timed_passes(
    database: BenchDatabase,
    calls: dict[str, Callable[[int], list[int]]],
    count: int,
    *,
    passes: int,
) -> dict[str, Timed]:
    """A warm-up pass, then `passes` timed ones. Within a pass the classes take turns every
    `BLOCK` queries, so a burst of other work on the shared machine hits them alike (whole
    passes in turn let one burst land on one class's median pass). Besides wall time per call,
    the CPU time per query of this process and of pgsearch's database backends: wall time also
    counts waiting for a core.
    """
    found: dict[str, list[list[int]]] = {name: [[] for _ in range(count)] for name in calls}
    walls: dict[str, list[list[float]]] = {name: [] for name in calls}
    client: dict[str, list[float]] = {name: [] for name in calls}
    server: dict[str, list[float]] = {name: [] for name in calls}
    with database.connect() as monitor:
        for p in range(passes + 1):  # pass 0 warms up
            seconds: dict[str, list[float]] = {name: [] for name in calls}
            cpu_s = dict.fromkeys(calls, 0.0)
            server_ns = dict.fromkeys(calls, 0)
            for first in range(0, count, BLOCK):
                for name, call in calls.items():
                    before = backend_cpu_ns(monitor)
                    cpu = time.process_time()
                    for i in range(first, min(first + BLOCK, count)):
                        start = time.perf_counter()
                        found[name][i] = call(i)
                        seconds[name].append(time.perf_counter() - start)
                    cpu_s[name] += time.process_time() - cpu
                    after = backend_cpu_ns(monitor)
                    server_ns[name] += sum(ns - before.get(pid, 0) for pid, ns in after.items())
            if p > 0:
                for name in calls:
                    walls[name].append(seconds[name])
                    client[name].append(cpu_s[name] * 1000 / count)
                    server[name].append(server_ns[name] / 1e6 / count)
    timed: dict[str, Timed] = {}
    for name in calls:
        # The pass of median total wall time (of an even count, the slower middle one).
        median = sorted(walls[name], key=sum)[(len(walls[name]) - 1) // 2]
        timed[name] = Timed(
            median,
            float(np.median(client[name])),
            float(np.median(server[name])),
            found[name],
        )
    return timed


def _semantic_recall(
    ds: Dataset, layout: Layout, qs: Queries, found: list[list[int]], k: int
) -> float:
    """Recall@k against exact cosine search over each query's user's vectors."""
    truth = np.vstack(
        [
            exact_top_k(
                ds.vectors,
                ds.query_vectors[qs.picks[i] : qs.picks[i] + 1],
                k=k,
                candidates=np.asarray(layout.rows(qs.users[i]), dtype=np.intp),
            )
            for i in range(len(found))
        ]
    )
    return recall_at_k(found, truth)


def _keyword_recall(
    database: BenchDatabase, ds: Dataset, qs: Queries, found: list[list[int]]
) -> float:
    """Mean recall@10 against exact BM25 of each query's user (queries matching nothing left
    out), the exact top 10 computed by `bm25s` once per layout."""
    if qs.truth is None:
        qs.truth = _exact_bm25(database, ds, qs)
    recalls = [
        t.hits([ds.external_id(d) for d in f]) / len(t.best)
        for t, f in zip(qs.truth, found, strict=True)
        if t.best
    ]
    return float(np.mean(recalls)) if recalls else 1.0


def _exact_bm25(database: BenchDatabase, ds: Dataset, qs: Queries) -> list[Truth]:
    """bench.keyword's exact BM25, per user over that user's chunks."""
    by_user: dict[int, list[int]] = {}
    for i, uid in enumerate(qs.users):
        by_user.setdefault(uid, []).append(i)
    params = Bm25Params.from_settings()
    truth: dict[int, Truth] = {}
    for uid, idx in by_user.items():
        texts = [ds.query_texts[qs.picks[i]] for i in idx]
        truth.update(zip(idx, exact_bm25(database, uid, texts, params), strict=True))
    return [truth[i] for i in range(len(qs.users))]


def _caller(
    requests: Sequence[SearchRequest], uids: Sequence[int], embedder: Embedder, *, cold: bool
) -> Callable[[int], list[int]]:
    """Query `i` for user `uids[i]` through the service layer (`cold`: as its first in 30 s)."""

    def call(i: int) -> list[int]:
        if cold:
            user_facts.forget(uids[i])
        return service_caller(requests, user_id=uids[i], embedder=embedder)(i)

    return call


def _request(mode: SearchMode, ds: Dataset, i: int, k: int) -> SearchRequest:
    vector = ds.query_vectors[i].tolist()
    text = ds.query_texts[i]
    if mode == "semantic":
        return SearchRequest(vector=vector, mode=mode, k=k)
    if mode == "keyword":
        return SearchRequest(query=text, mode=mode, k=k)
    return SearchRequest(query=text, vector=vector, mode=mode, k=k)


def _matching(database: BenchDatabase, ds: Dataset, qs: Queries, k: int) -> list[int]:
    """min(k, documents matching any query word) per query."""
    with database.connect() as conn:
        return [
            min(k, conn.execute(_MATCHING, (uid, ds.query_texts[pick])).fetchone()[0])  # type: ignore[index]
            for uid, pick in zip(qs.users, qs.picks, strict=True)
        ]


# auto_explain reports each statement's plan to the client as a notice: the plan the search
# really ran, prepared and generic (db.session_settings), not one planned for EXPLAIN's values.
_AUTO_EXPLAIN = {
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "on",
    "auto_explain.log_timing": "off",
    "auto_explain.log_format": "json",
    "auto_explain.log_level": "notice",
}


@contextmanager
def _explained_session() -> Iterator[tuple[Any, list[str]]]:
    """A read session whose statements' plans are collected; its connection is discarded."""
    notices: list[str] = []
    with contextmanager(db.get_read_db)() as session:
        conn = db.driver_connection(session.connection())
        conn.execute("LOAD 'auto_explain'")
        for setting, value in _AUTO_EXPLAIN.items():
            conn.execute("SELECT set_config(%s, %s, false)", (setting, value))
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        try:
            yield session, notices
        finally:
            session.connection().invalidate()


_SCAN_KINDS = {"Seq Scan": "seq", "Bitmap Heap Scan": "heap"}


def explain(request: SearchRequest, user_id: int, embedder: Embedder, *, cold: bool) -> str:
    """What the search's statements read, once prepared: each scan (index or table) with its
    rows, then the shared buffers and server time of all of them."""
    with _explained_session() as (session, notices):
        # psycopg prepares a statement on its fifth run (db.PREPARE_THRESHOLD): the last run
        # is the prepared one.
        for _ in range(db.PREPARE_THRESHOLD + 1):
            notices.clear()
            if cold:
                user_facts.forget(user_id)
            search_service.search(session, user_id=user_id, request=request, embedder=embedder)
    scans: dict[str, float] = {}
    buffers = 0
    ms = 0.0
    for notice in notices:
        if "plan:" not in notice:
            continue
        head, _, body = notice.partition("plan:")
        ms += float(head.split()[1])
        plan = json.loads(body)["Plan"]
        buffers += plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
        for node in _nodes(plan):
            if "Scan" in node["Node Type"] and ("Relation Name" in node or "Index Name" in node):
                # A bitmap heap scan fetches the rows its bitmap index scan found: not an index.
                kind = _SCAN_KINDS.get(node["Node Type"], "idx")
                what = node.get("Index Name", node.get("Relation Name"))
                key = f"{kind} {what}"
                scans[key] = scans.get(key, 0) + node["Actual Rows"] * node["Actual Loops"]
    listed = ", ".join(f"{key} {rows:,.0f}" for key, rows in sorted(scans.items()))
    return f"{len(notices)} stmt, {ms:.1f} ms, {buffers:,} buf: {listed}"


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def print_report(lines: list[Line], args: argparse.Namespace, loads: list[str]) -> None:
    """The table, the plans (`--explain`), then the goals."""
    table = Table(show_edge=False, pad_edge=False)
    columns = ("big user's share", "mode", "user", "p50 ms", "p95 ms", "cpu ms/q", "server")
    for col in (*columns, "results/q", "expected"):
        table.add_column(col, justify="left" if col in ("mode", "user") else "right")
    table.add_column("recall", justify="right")
    for line in lines:
        table.add_row(
            line.layout,
            line.mode,
            line.user,
            f"{line.p50_ms:.2f}",
            f"{line.p95_ms:.2f}",
            f"{line.client_cpu_ms + line.server_cpu_ms:.2f}",
            f"{line.server_cpu_ms:.2f}",
            f"{line.results:.2f}",
            f"{line.expected:.2f}",
            "" if line.recall is None else f"{line.recall:.3f}",
        )
    out.print(table)
    out.print(
        "cpu ms/q: CPU time per query of this process and the database backends (server: of"
        " the backends alone), median of the passes"
    )
    out.print(
        f"recall: semantic @{args.k} vs exact cosine; keyword @{KEYWORD_RECALL_K} vs exact BM25"
        " (bm25s) of the user's chunks"
    )
    if args.explain:
        plans = Table(show_edge=False, pad_edge=False)
        for col in ("big user's share", "mode", "user", "one search, prepared: what it read"):
            plans.add_column(col)
        for line in lines:
            plans.add_row(line.layout, line.mode, line.user, line.plan)
        out.print()
        out.print(plans)
    goals = Table(show_edge=False, pad_edge=False)
    for col in ("goal", "measured", "target", "verdict"):
        goals.add_column(col)

    def verdict(ok: bool) -> str:
        return "[green]PASS[/]" if ok else "[red]MISS[/]"

    short = [line for line in lines if line.results < line.expected]
    goals.add_row(
        "every query gets min(k, matches)",
        f"{len(short)} mode/class rows short",
        "0",
        verdict(not short),
    )
    semantic = [line for line in lines if line.mode == "semantic"]
    worst = min(line.recall or 0.0 for line in semantic)
    goals.add_row(
        "semantic recall vs exact (worst row)",
        f"{worst:.3f}",
        f">= {GOAL_RECALL}",
        verdict(worst >= GOAL_RECALL),
    )
    keyword = [line.recall for line in lines if line.mode == "keyword" and line.recall is not None]
    if keyword:
        goals.add_row(
            f"keyword recall@{KEYWORD_RECALL_K} vs exact BM25 (worst row)",
            f"{min(keyword):.3f}",
            "information",
            "",
        )
    by = {(line.layout, line.mode, line.user): line for line in lines}
    for line in lines:
        if line.user.startswith("small"):
            big = by[(line.layout, line.mode, line.user.replace("small", "big"))]
            ratio = line.p50_ms / big.p50_ms
            goals.add_row(
                f"p50 {line.user} / big, {line.mode}, {line.layout}",
                f"{ratio:.2f}x (p95 {line.p95_ms / big.p95_ms:.2f}x,"
                f" cpu {_cpu(line) / _cpu(big):.2f}x)",
                "<= 1x",
                verdict(ratio <= 1.0),
            )
    for stats in ("stale", "fresh"):
        pair = [x for x in semantic if x.user == "big" and x.layout.endswith(f"{stats} stats")]
        if len(pair) == 2:
            ratio = pair[1].p50_ms / pair[0].p50_ms
            goals.add_row(
                f"big user's semantic p50, {pair[1].layout} / {pair[0].layout.split(',')[0]}",
                f"{ratio:.2f}x (cpu {_cpu(pair[1]) / _cpu(pair[0]):.2f}x)",
                f"<= {GOAL_SHARE_RATIO}x",
                verdict(ratio <= GOAL_SHARE_RATIO),
            )
    out.print()
    out.print(goals)
    out.print(f"\nload average (1, 5, 15 min) at each layout's start and at the end: {loads}")


def _cpu(line: Line) -> float:
    return line.client_cpu_ms + line.server_cpu_ms


def load_average() -> str:
    """The machine's load average: other work competes for its cores."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


_EXTENSION: LiteralString = "SELECT extversion FROM pg_extension WHERE extname = 'pgsearch_bm25'"


def run(args: argparse.Namespace) -> None:
    """Load each layout in turn and measure it."""
    layouts = [Layout(args.big, small, args.per_user) for small in args.small_users]
    n = max(layout.n for layout in layouts)
    say(f"generating {n:,} vectors and {2 * args.queries} queries")
    ds = synthetic_dataset(n=n, n_queries=2 * args.queries, seed=args.seed)
    out.print(f"data: documents of 1 chunk, 384-d; {ds.description}; k={args.k}")
    out.print(f"{args.queries} queries per mode and class, median of {args.passes} passes")
    settings = {"PGSEARCH_EMBEDDING_MODEL": "minilm"}
    lines: list[Line] = []
    loads: list[str] = []
    with bench_database(settings) as database:
        with db.get_sessionmaker().begin() as session:
            check_model(session, get_embedder("minilm"))  # sizes the vector column, makes HNSW
        with database.connect() as conn:
            row = conn.execute(_EXTENSION).fetchone()
        # Keyword search takes the SQL form without the extension (or at an older version).
        out.print(f"pgsearch_bm25: {row[0] if row else 'not installed (SQL form)'}")
        for layout in layouts:
            loads.append(load_average())
            say(f"loading {layout.n:,} chunks: {layout.small:,} users + 1 big")
            load(database, ds, layout)
            queries = user_queries(layout, args)
            lines += measure_layout(database, ds, layout, queries, args, stats="stale")
            analyze(database)
            lines += measure_layout(database, ds, layout, queries, args, stats="fresh")
    loads.append(load_average())
    print_report(lines, args, loads)
    out.print(f"\ntotal runtime {time.monotonic() - _started:.0f} s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.users", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--big", type=int, default=20_000, help="the big user's chunks")
    parser.add_argument(
        "--small-users", type=int, nargs="+", default=[1000, 300], help="small users per layout"
    )
    parser.add_argument("--per-user", type=int, default=100, help="a small user's chunks")
    parser.add_argument("--queries", type=int, default=100, help="queries per mode and class")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--passes", type=int, default=3, help="timed passes (median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="250/75 users x 100 + 5k, 50 queries")
    parser.add_argument(
        "--cold",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure each class with the per-user facts forgotten before every query",
    )
    parser.add_argument(
        "--explain", action="store_true", help="what one search per mode and class read"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.big, args.small_users, args.queries = 5_000, [250, 75], 50
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)

    def run_all() -> bool:
        run(args)
        return True

    return 0 if run_interruptible(run_all) else 130


if __name__ == "__main__":
    sys.exit(main())
