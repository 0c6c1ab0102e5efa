"""pgsearch's HTTP search at several git revisions, side by side on one database.

Each revision's `src/` (from `git archive`) runs as its own `pgsearch serve`, in this checkout's
environment, on one bench database holding bench/peers.py's work (man-page chunks, 256-d
wordllama vectors, k = 10, client vectors over HTTP). Passes alternate between the revisions, so
drift on a shared machine hits them alike. Per revision: 1-client p50 and QPS, then QPS at many
clients, and the CPU per search of the API process tree and of PostgreSQL (the medians of the
passes; /proc counts CPU in 10 ms ticks, so a pass should hold a second or more of it). The
revisions share the database, not their pooled connections: only the one being measured works.

Run: uv run --group bench python -m bench.revisions main HEAD [--passes 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import (
    BenchDatabase,
    bench_database,
    exit_cleanly_on_sigterm,
    free_port,
    running_server,
    serve_command,
    time_calls,
)
from bench.peers import (
    Peer,
    add_work_arguments,
    cpu_meter,
    embed_work,
    load_pgsearch,
    pgsearch_search,
    run_clients,
    say,
    settle,
)


@dataclass
class Numbers:
    """One revision's numbers, per pass."""

    p50_ms: list[float] = field(default_factory=list)
    qps: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)  # API CPU per search
    pg_ms: list[float] = field(default_factory=list)  # PostgreSQL CPU per search
    many_qps: list[float] = field(default_factory=list)
    many_api_ms: list[float] = field(default_factory=list)
    many_pg_ms: list[float] = field(default_factory=list)
    errors: int = 0


def export_source(revision: str, into: Path) -> Path:
    """`src/` of `revision` (any git revision) unpacked under `into`; returns that `src`."""
    into.mkdir(parents=True)
    archive = into / "src.tar"
    subprocess.run(["git", "archive", "-o", str(archive), revision, "src"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


@contextmanager
def revision_server(
    database: BenchDatabase, name: str, src: Path, *, workers: int
) -> Iterator[tuple[str, int]]:
    """`pgsearch serve` from `src`; yields its URL and pid."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_server(
        serve_command(port, workers=workers),
        env={**database.env, "PYTHONPATH": str(src)},
        log_path=database.tmp_dir / f"serve-{name}.log",
        ready_url=url + "/health",
    ) as proc:
        yield url, proc.pid


def one_pass(api: Peer, pg: Peer, count: int, numbers: Numbers) -> None:
    """`count` searches from one client."""
    with httpx.Client(base_url=api.url, timeout=60) as client:
        with cpu_meter(api) as api_cpu, cpu_meter(pg) as pg_cpu:
            latencies = time_calls(lambda i: api.search(client, i), count)
    numbers.p50_ms.append(latencies.p50_ms)
    numbers.qps.append(latencies.qps)
    numbers.api_ms.append(api_cpu[0] / count * 1e3)
    numbers.pg_ms.append(pg_cpu[0] / count * 1e3)


def many_pass(api: Peer, pg: Peer, clients: int, seconds: float, numbers: Numbers) -> None:
    """`clients` keep-alive clients searching for `seconds`."""
    with cpu_meter(api) as api_cpu, cpu_meter(pg) as pg_cpu:
        done, errors, elapsed = run_clients(api, clients=clients, seconds=seconds)
    answered = max(1, sum(done))
    numbers.many_qps.append(sum(done) / elapsed)
    numbers.many_api_ms.append(api_cpu[0] / answered * 1e3)
    numbers.many_pg_ms.append(pg_cpu[0] / answered * 1e3)
    numbers.errors += sum(errors)


def run(args: argparse.Namespace) -> dict[str, Numbers]:
    """Load the work once, serve every revision, alternate the passes."""
    say("loading and embedding man pages")
    chunks, vectors, queries = embed_work(args)
    results = {r: Numbers() for r in args.revisions}
    with (
        bench_database({"PGSEARCH_EMBEDDING_MODEL": "wordllama"}) as database,
        ExitStack() as stack,
    ):
        sources = {
            r: export_source(r, database.tmp_dir / f"rev{i}") for i, r in enumerate(args.revisions)
        }
        say(f"ingesting {len(chunks):,} chunks")
        url, _ = stack.enter_context(
            revision_server(database, "load", sources[args.revisions[-1]], workers=1)
        )
        user = load_pgsearch(url, chunks, vectors)
        with database.connect() as conn:
            conn.execute("ANALYZE")
        search = pgsearch_search(user, queries, args.k)
        postgres = Peer("PostgreSQL", "", search, [database.postmaster_pid()])
        apis: dict[str, Peer] = {}
        for i, revision in enumerate(args.revisions):
            url, pid = stack.enter_context(
                revision_server(database, f"rev{i}", sources[revision], workers=args.workers)
            )
            apis[revision] = Peer(revision, url, search, [pid])
        for api in apis.values():
            settle(api)
        settle(postgres)
        say(f"{args.passes} passes, revisions alternating")
        for n in range(args.passes + 1):  # pass 0 warms up
            order = list(apis.values()) if n % 2 else list(apis.values())[::-1]
            for api in order:
                numbers = results[api.name] if n else Numbers()
                one_pass(api, postgres, args.count, numbers)
                many_pass(api, postgres, args.clients, args.seconds, numbers)
    return results


def print_table(results: dict[str, Numbers], args: argparse.Namespace) -> None:
    """A Markdown table, one column per revision, medians of the passes (and their range)."""
    names = list(results)
    print("| measure | " + " | ".join(names) + " |")  # noqa: T201
    print("|---|" + "---:|" * len(names))  # noqa: T201
    rows = [
        ("1 client: p50 ms", "p50_ms"),
        ("1 client: QPS", "qps"),
        ("1 client: API CPU ms/search", "api_ms"),
        ("1 client: PostgreSQL CPU ms/search", "pg_ms"),
        (f"{args.clients} clients: QPS", "many_qps"),
        (f"{args.clients} clients: API CPU ms/search", "many_api_ms"),
        (f"{args.clients} clients: PostgreSQL CPU ms/search", "many_pg_ms"),
    ]
    for label, name in rows:
        cells = []
        for numbers in results.values():
            values: list[float] = getattr(numbers, name)
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {label} | " + " | ".join(cells) + " |")  # noqa: T201
    errors = [str(n.errors) for n in results.values()]
    print("| errors | " + " | ".join(errors) + " |")  # noqa: T201


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("revisions", nargs="+", help="git revisions (main, HEAD, a commit)")
    add_work_arguments(parser, seconds=4.0)
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--count", type=int, default=300, help="1-client searches per pass")
    parser.add_argument("--workers", type=int, default=1, help="workers of each server")
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    start = time.perf_counter()
    results = run(args)
    print_table(results, args)
    print(f"\n(ran {time.perf_counter() - start:.0f} s)")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
