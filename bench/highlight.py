"""What `highlight: true` costs a search: with and without it, through the service layer.

Run:  uv run --group bench python -m bench.highlight           (10k chunks of man pages, 3 passes)
      uv run --group bench python -m bench.highlight --quick   (3k chunks, 2 passes)

The corpus and queries are bench.keyword's (man pages in ~800-character chunks, wordllama
vectors, the pages' NAME lines as queries; query vectors computed beforehand). Each query runs
in keyword and hybrid mode with and without highlighting, passes interleaved; the ratio is QPS
with highlights over QPS without, in the same run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from bench import realtext
from bench.common import (
    Latencies,
    bench_database,
    exit_cleanly_on_sigterm,
    median_pass,
    time_calls,
)
from bench.keyword import bench_queries, load, new_user
from bench.manpages import load_manpages
from pgsearch import db
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.schemas import SearchMode, SearchRequest
from pgsearch.services import search as search_service

K = 10
GOAL = 0.8  # highlighted search at least this share of plain search's QPS
console = Console()


def caller(
    uid: int,
    mode: SearchMode,
    highlight: bool,
    texts: Sequence[str],
    vectors: NDArray[np.float32],
    embedder: Embedder,
) -> Callable[[int], object]:
    def call(i: int) -> None:
        request = SearchRequest(
            query=texts[i],
            vector=vectors[i].tolist() if mode != "keyword" else None,
            mode=mode,
            k=K,
            highlight=highlight,
        )
        with db.get_read_sessionmaker()() as session:
            response = search_service.search(
                session, user_id=uid, request=request, embedder=embedder
            )
        assert all((h.highlight is not None) == highlight for h in response.results)

    return call


def run(args: argparse.Namespace) -> None:
    n = 3_000 if args.quick else args.n
    passes = 2 if args.quick else args.passes
    with bench_database({"PGSEARCH_EMBEDDING_MODEL": "wordllama"}) as database:
        embedder = get_embedder("wordllama")
        console.print(f"loading {n:,} chunks of man pages")
        docs = realtext.first_chunks(realtext.manpage_documents(load_manpages()), n)
        uid = new_user(embedder, None)
        load(database, uid, docs, batch_chunks=2_000, workers=1)
        with database.connect() as conn:
            conn.execute("VACUUM ANALYZE")
        texts = bench_queries(database, uid, args.queries, seed=0)
        vectors = embedder.embed(texts)
        modes: tuple[SearchMode, ...] = ("keyword", "hybrid")
        cases = [(m, h) for m in modes for h in (False, True)]
        calls = {c: caller(uid, c[0], c[1], texts, vectors, embedder) for c in cases}
        for c in cases:  # warm-up
            time_calls(calls[c], min(len(texts), 30))
        runs: dict[tuple[SearchMode, bool], list[Latencies]] = {c: [] for c in cases}
        for p in range(passes):
            for c in cases:
                runs[c].append(time_calls(calls[c], len(texts)))
            console.print(f"pass {p + 1}/{passes} done")
    table = Table(title=f"{n:,} chunks, {len(texts)} queries, k = {K}, median pass of {passes}")
    for column in ("mode", "highlight", "QPS", "p50 ms", "× without"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode in modes:
        plain = median_pass(runs[(mode, False)])
        marked = median_pass(runs[(mode, True)])
        table.add_row(mode, "no", f"{plain.qps:,.0f}", f"{plain.p50_ms:.2f}", "")
        ratio = f"{marked.qps / plain.qps:.2f}"
        table.add_row(mode, "yes", f"{marked.qps:,.0f}", f"{marked.p50_ms:.2f}", ratio)
    console.print(table)
    console.print(f"goal: highlighted ≥ {GOAL}× plain QPS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", type=int, default=10_000, help="chunks to load")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    run(args)


if __name__ == "__main__":
    main()
