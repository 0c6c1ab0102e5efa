"""Many users in one database: one big user beside many small ones, through the service layer.

Run:  uv run python -m bench.users           (1,000 and 300 users x 100 chunks + one of 20k)
      uv run python -m bench.users --quick   (250 and 75 users x 100 chunks + one of 5k)

Two layouts on a throwaway embedded PostgreSQL, each loaded by binary COPY, indexed, then
VACUUM: the big user holds ~17 % of the chunks, then ~40 %. Each is measured twice: with
statistics taken before the big user's chunks arrived (as right after a large ingest, before
autovacuum's ANALYZE), then after ANALYZE. Every query goes through
`services.search.search` in its own `db.get_read_db` session, as a request does, with client
vectors (and the query's words for keyword and hybrid). Per user class: p50/p95 latency,
results per query (semantic must give k; keyword and hybrid min(k, matching documents)) and
semantic recall@k against exact search (numpy over that user's vectors). Data: documents of one
chunk, 384-d, from `bench.common.synthetic_dataset`; each small query goes to a random small user.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import numpy as np
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.table import Table

from bench.common import (
    BenchDatabase,
    Dataset,
    bench_database,
    build_indexes,
    drop_search_indexes,
    exact_top_k,
    recall_at_k,
    run_interruptible,
    synthetic_dataset,
)
from bench.search import interleaved, service_caller
from pgsearch import db
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.schemas import SearchMode, SearchRequest
from pgsearch.services.index import check_model

GOAL_RECALL = 0.95
GOAL_SHARE_RATIO = 1.5  # big user's p50 at the larger share / at the smaller share
BIG_USER = 1

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
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


def load(database: BenchDatabase, ds: Dataset, layout: Layout) -> None:
    """Empty the tables and COPY the layout in: the small users, ANALYZE, then the big user.

    Indexes are built after the load, then VACUUM (which updates the row count, not the
    statistics): the statistics are stale as right after a user's large ingest, before
    autovacuum's ANALYZE (turned off on chunks here, so the state holds while measuring).
    """
    definitions = drop_search_indexes(database)
    owners = layout.user_ids()
    with database.connect() as conn:
        conn.execute("TRUNCATE users, documents, chunks RESTART IDENTITY CASCADE")
        conn.execute("ALTER TABLE chunks SET (autovacuum_enabled = off)")
        conn.execute(
            "INSERT INTO users (id, name) SELECT i, 'user ' || i FROM generate_series(1, %s) i",
            (layout.small + 1,),
        )
    _copy(database, ds, owners, range(layout.big, layout.n))
    with database.connect() as conn:
        conn.execute("ANALYZE documents, chunks")
    _copy(database, ds, owners, range(layout.big))
    build_indexes(database, definitions)
    with database.connect() as conn:
        conn.execute("VACUUM users, documents, chunks")


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
    results: float
    expected: float
    recall: float | None


def measure_layout(
    database: BenchDatabase, ds: Dataset, layout: Layout, args: argparse.Namespace, *, stats: str
) -> list[Line]:
    """Every mode for the big user and for small users; semantic passes interleaved."""
    k, q = args.k, args.queries
    rng = np.random.default_rng(args.seed + 1)
    users = {"big": [BIG_USER] * q, "small": [int(u) for u in rng.integers(2, layout.small + 2, q)]}
    # Separate query vectors per class; small queries reuse the big ones' texts shifted by one.
    picks = {"big": np.arange(q), "small": np.arange(q, 2 * q)}
    embedder = get_embedder("minilm")  # its dimension only: queries carry vectors
    name = f"{layout.share:.0%} of {layout.n:,}, {stats} stats"
    lines: list[Line] = []
    for mode in ("semantic", "keyword", "hybrid"):
        count = q if mode == "semantic" else min(q, args.info_queries)
        calls: dict[str, Callable[[int], list[int]]] = {}
        expected: dict[str, list[int]] = {}
        for cls, uids in users.items():
            requests = [_request(mode, ds, int(picks[cls][i]), k) for i in range(count)]
            calls[cls] = _caller(requests, uids, embedder)
            if mode == "keyword":
                expected[cls] = _matching(database, ds, uids, picks[cls], k, count)
            else:
                expected[cls] = [k] * count  # every user has more than k documents
        say(f"{name}: {mode}, {count} queries per class")
        measured = interleaved(calls, count, passes=args.passes if mode == "semantic" else 1)
        for cls, m in measured.items():
            seconds = np.asarray(m.latencies.seconds) * 1000
            recall = None
            if mode == "semantic":
                truth = np.vstack(
                    [
                        exact_top_k(
                            ds.vectors,
                            ds.query_vectors[picks[cls][i] : picks[cls][i] + 1],
                            k=k,
                            candidates=np.asarray(layout.rows(users[cls][i]), dtype=np.intp),
                        )
                        for i in range(count)
                    ]
                )
                recall = recall_at_k(m.found, truth)
            lines.append(
                Line(
                    layout=name,
                    mode=mode,
                    user=cls,
                    p50_ms=float(np.percentile(seconds, 50)),
                    p95_ms=float(np.percentile(seconds, 95)),
                    results=float(np.mean([len(f) for f in m.found])),
                    expected=float(np.mean(expected[cls])),
                    recall=recall,
                )
            )
    return lines


def _caller(
    requests: Sequence[SearchRequest], uids: Sequence[int], embedder: Embedder
) -> Callable[[int], list[int]]:
    """Query `i` for user `uids[i]` through the service layer."""

    def call(i: int) -> list[int]:
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


def _matching(
    database: BenchDatabase,
    ds: Dataset,
    uids: list[int],
    picks: np.ndarray[Any, Any],
    k: int,
    count: int,
) -> list[int]:
    """min(k, documents matching any query word) per query."""
    with database.connect() as conn:
        return [
            min(k, conn.execute(_MATCHING, (uids[i], ds.query_texts[picks[i]])).fetchone()[0])  # type: ignore[index]
            for i in range(count)
        ]


def print_report(lines: list[Line], layouts: Sequence[Layout], args: argparse.Namespace) -> None:
    """The table, then the goals."""
    table = Table(show_edge=False, pad_edge=False)
    for col in ("big user's share", "mode", "user", "p50 ms", "p95 ms", "results/q", "expected"):
        table.add_column(col, justify="left" if col in ("mode", "user") else "right")
    table.add_column(f"recall@{args.k}", justify="right")
    for line in lines:
        table.add_row(
            line.layout,
            line.mode,
            line.user,
            f"{line.p50_ms:.2f}",
            f"{line.p95_ms:.2f}",
            f"{line.results:.2f}",
            f"{line.expected:.2f}",
            "" if line.recall is None else f"{line.recall:.3f}",
        )
    out.print(table)
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
    by = {(line.layout, line.mode, line.user): line for line in lines}
    for line in lines:
        if line.user == "small":
            big = by[(line.layout, line.mode, "big")]
            ratio = line.p50_ms / big.p50_ms
            goals.add_row(
                f"p50 small / big, {line.mode}, {line.layout}",
                f"{ratio:.2f}x",
                "<= 1x",
                verdict(ratio <= 1.0),
            )
    for stats in ("stale", "fresh"):
        pair = [x for x in semantic if x.user == "big" and x.layout.endswith(f"{stats} stats")]
        if len(pair) == 2:
            ratio = pair[1].p50_ms / pair[0].p50_ms
            goals.add_row(
                f"big user's semantic p50, {pair[1].layout} / {pair[0].layout.split(',')[0]}",
                f"{ratio:.2f}x",
                f"<= {GOAL_SHARE_RATIO}x",
                verdict(ratio <= GOAL_SHARE_RATIO),
            )
    out.print()
    out.print(goals)


def run(args: argparse.Namespace) -> None:
    """Load each layout in turn and measure it."""
    layouts = [Layout(args.big, small, args.per_user) for small in args.small_users]
    n = max(layout.n for layout in layouts)
    say(f"generating {n:,} vectors and {2 * args.queries} queries")
    ds = synthetic_dataset(n=n, n_queries=2 * args.queries, seed=args.seed)
    out.print(f"data: documents of 1 chunk, 384-d; {ds.description}; k={args.k}")
    settings = {"PGSEARCH_EMBEDDING_MODEL": "minilm"}
    lines: list[Line] = []
    with bench_database(settings) as database:
        with db.get_sessionmaker().begin() as session:
            check_model(session, get_embedder("minilm"))  # sizes the vector column, makes HNSW
        for layout in layouts:
            say(f"loading {layout.n:,} chunks: {layout.small:,} users + 1 big")
            load(database, ds, layout)
            lines += measure_layout(database, ds, layout, args, stats="stale")
            with database.connect() as conn:
                conn.execute("ANALYZE documents, chunks")
            lines += measure_layout(database, ds, layout, args, stats="fresh")
    print_report(lines, layouts, args)
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
    parser.add_argument("--queries", type=int, default=100, help="semantic queries per class")
    parser.add_argument(
        "--info-queries", type=int, default=50, help="keyword/hybrid queries per class"
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--passes", type=int, default=3, help="timed semantic passes (median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="250/75 users x 100 + 5k, 50 queries")
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
