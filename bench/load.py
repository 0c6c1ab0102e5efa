"""Load benchmark: pgsearch against the literal textbook app, on the same database, in one run.

Run from the repository root:
      uv run python -m bench.load          (~9 min)
      uv run python -m bench.load --quick  (smoke run, ~4 min)

Starts one throwaway embedded PostgreSQL (temp dir, migrated), then three servers on 127.0.0.1:
the textbook app (`uvicorn bench.textbook_app:app`, 1 worker), `pgsearch serve` with 1 worker
and with `--workers 2`. Seeds through pgsearch's API: `--users` users (100, so that pgsearch's
`GET /users?limit=100` and the textbook's `GET /users`, which returns every row, return the same
rows) and `--documents` (3,000) one-chunk documents of the first user, stored with client vectors
(a Gaussian mixture shaped like sentence embeddings, `bench.common`).

Scenarios (`--scenarios`), the same requests to both apps:
- `users`: `GET /users`, 100 rows;
- `text`: `POST /users/{id}/search {"query": ..., "mode": "semantic", "k": 10}`: both apps embed
  the query with the built-in MiniLM model, then run a nearest-neighbour query;
- `vector` (not run by default): the same with a client `vector`: HTTP + database only.
pgsearch's semantic search does more database work than the textbook's `ORDER BY ... LIMIT k`
(40 HNSW candidates with ef_search 100, best chunk per document, a join): it is not made cheaper.

Each scenario runs at each concurrency (16, 64, 256) against each app in turn, interleaved so
that background load on a shared machine hits every app alike. The load generator is a closed
loop (asyncio on uvloop; the servers are other processes): `c` keep-alive connections, each
sending its next request as soon as the previous answer arrives; `--warmup` seconds, then a
`--duration` second window. Its HTTP client is a minimal one (`RawConnection`): httpx costs over
ten times its CPU per request, which a generator sharing 2 cores with the servers takes from
them (it cut their `GET /users` goodput by a third); the minimal client's figures matched wrk's.

Goodput = successful (2xx) responses completed in the window per second; p50/p99 over
successful requests started in the window (those still in flight at its end are awaited);
errors = non-2xx, timeouts (`--timeout`, 30 s) and connection errors that ended after the
warm-up. For the window the generator also records the CPU (in cores) used by itself, by the
app's processes, by PostgreSQL and by everything else on the machine: a generator near 1.0 core
would be measuring itself.

Before each run the app gets one request of the scenario (checked: all users, or k hits; this
also loads the model). An app that does not answer within 5 s after a run is deadlocked on its
connection pool by the requests the client gave up on; it is restarted so that the next run
starts clean, and the run is marked with †.

Everything is stopped at the end, also on errors, Ctrl-C and SIGTERM (servers and their workers
by pid, the embedded PostgreSQL, the temp dir).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
import psutil
import uvloop
from rich.console import Console
from rich.table import Table

from bench.common import (
    BenchDatabase,
    Dataset,
    bench_database,
    exit_cleanly_on_sigterm,
    free_port,
    serve_command,
    start_server,
    stop_server,
    synthetic_dataset,
    tree_cpu_s,
)

REPO = Path(__file__).resolve().parents[1]
# A server still busy with abandoned requests this long is killed: a deadlocked one never ends.
STOP_TIMEOUT_S = 10.0
# After a run, a healthy server answers at once; one that does not is wedged and gets restarted.
PROBE_TIMEOUT_S = 5.0
SEED_BATCH = 250
K = 10
# A generator using about one full core is likely limiting the load it generates.
GENERATOR_SATURATED_CORES = 0.9

# Wide enough for the table when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

AppKind = Literal["textbook", "pgsearch"]


# -- the servers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppSpec:
    """How to start one server under test."""

    name: str
    kind: AppKind
    workers: int = 1

    def command(self, port: int) -> list[str]:
        """The server's command line, listening on 127.0.0.1:`port`, access log off."""
        if self.kind == "pgsearch":
            return serve_command(port, workers=self.workers)
        return [
            *(sys.executable, "-m", "uvicorn", "bench.textbook_app:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ]

    @property
    def ready_path(self) -> str:
        """A GET that answers 200 once the server is up."""
        return "/users" if self.kind == "textbook" else "/health"


class Server:
    """One server under test, as a subprocess on the bench database; restartable."""

    def __init__(self, spec: AppSpec, database: BenchDatabase) -> None:
        self.spec = spec
        self.url = ""
        self._database = database
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's (main) process id."""
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> None:
        """Start on a free port and wait until it answers."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._proc = start_server(
            self.spec.command(port),
            cwd=REPO,
            env=self._database.env,
            log_path=self._database.tmp_dir / f"{self.spec.name.replace(' ', '-')}-{port}.log",
            ready_url=self.url + self.spec.ready_path,
        )

    def stop(self, *, grace_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the server and its worker processes (idempotent)."""
        if self._proc is not None:
            stop_server(self._proc, grace_s=grace_s)
            self._proc = None

    def restart(self) -> None:
        """Stop and start again (on a new port); a wedged server is not worth waiting for."""
        self.stop(grace_s=2.0)
        self.start()

    def answers(self, *, timeout_s: float) -> bool:
        """Whether the ready path answers 200 within `timeout_s`."""
        try:
            reply = httpx.get(self.url + self.spec.ready_path, timeout=timeout_s)
        except httpx.TransportError:
            return False
        return reply.status_code == 200


# -- data --------------------------------------------------------------------------------------


def seed(url: str, ds: Dataset, *, users: int) -> int:
    """Create `users` users and store the dataset as documents of the first; its id."""
    with httpx.Client(base_url=url, timeout=300.0) as client:
        ids = [
            client.post("/users", json={"name": f"user {i}"}).raise_for_status().json()["id"]
            for i in range(users)
        ]
        owner = int(ids[0])
        for start in range(0, ds.n, SEED_BATCH):
            docs = [
                {
                    "text": ds.texts[i],
                    "external_id": ds.external_id(i),
                    "chunks": [{"text": ds.texts[i], "embedding": ds.vectors[i].tolist()}],
                }
                for i in range(start, min(start + SEED_BATCH, ds.n))
            ]
            client.post(
                f"/users/{owner}/documents/batch", json={"documents": docs}
            ).raise_for_status()
    return owner


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of request, sent alike to every app (only the `GET /users` path differs)."""

    name: str
    textbook_path: str
    pgsearch_path: str
    bodies: tuple[bytes, ...] = ()  # POST bodies, cycled; none: GET

    def path(self, kind: AppKind) -> str:
        """The request path for an app of this kind."""
        return self.textbook_path if kind == "textbook" else self.pgsearch_path


SCENARIOS = ("users", "text", "vector")


def scenarios(ds: Dataset, *, owner: int, users: int, names: Sequence[str]) -> list[Scenario]:
    """The scenarios named (`users`: GET /users, `text`/`vector`: search by text/vector)."""
    search = f"/users/{owner}/search"

    def body(**fields: object) -> bytes:
        return json.dumps({**fields, "mode": "semantic", "k": K}).encode()

    every = {
        # pgsearch pages users (default 100); ask for all of them, as the textbook returns all.
        "users": Scenario("GET /users", "/users", f"/users?limit={users}"),
        "text": Scenario(
            "search text", search, search, tuple(body(query=q) for q in ds.query_texts)
        ),
        "vector": Scenario(
            "search vector",
            search,
            search,
            tuple(body(vector=v.tolist()) for v in ds.query_vectors),
        ),
    }
    return [every[name] for name in names]


def check_answer(server: Server, case: Scenario, *, users: int) -> None:
    """One request: a right answer (all users, or k hits); loads the model on a first search."""
    path = server.url + case.path(server.spec.kind)
    # The first search of a process loads the model: give it time on a busy machine.
    if case.bodies:
        headers = {"content-type": "application/json"}
        reply = httpx.post(path, content=case.bodies[0], headers=headers, timeout=60.0)
    else:
        reply = httpx.get(path, timeout=60.0)
    payload = reply.raise_for_status().json()
    # pgsearch wraps search hits in {"results": [...]}; the textbook returns the list.
    got = len(payload["results"] if isinstance(payload, dict) else payload)
    want = K if case.bodies else users
    if got != want:
        raise RuntimeError(f"{server.spec.name}: {case.name} gave {got} rows, expected {want}")


def ready_for(server: Server, case: Scenario, *, users: int) -> None:
    """Check and prime `server` for a run of `case`; restart it once if it does not answer."""
    try:
        check_answer(server, case, users=users)
    except httpx.HTTPError:
        server.restart()
        check_answer(server, case, users=users)


# -- the load generator ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One closed-loop run."""

    url: str
    path: str
    bodies: tuple[bytes, ...]
    concurrency: int
    warmup_s: float
    duration_s: float
    timeout_s: float
    app_pid: int
    pg_pid: int


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU used during the measured window, in cores (1.0 = one core busy all the time)."""

    generator: float
    app: float
    postgres: float
    other: float


@dataclass(slots=True)
class Measurement:
    """The outcome of one run."""

    goodput: float
    p50_ms: float | None
    p99_ms: float | None
    ok: int
    errors: dict[str, int]
    error_samples: dict[str, str]
    cpu: Cpu
    wedged: bool = False  # the app did not answer after the run and was restarted

    @property
    def error_count(self) -> int:
        """All failed requests."""
        return sum(self.errors.values())


@dataclass(slots=True)
class _Record:
    start: float
    end: float
    error: str | None


def _cpu_snapshot(spec: LoadSpec) -> tuple[float, float, float, float, float]:
    """(wall, generator, app, postgres, machine) seconds."""
    t = psutil.cpu_times()
    machine = float(t.user + t.nice + t.system + t.irq + t.softirq)
    return (
        time.perf_counter(),
        time.process_time(),
        tree_cpu_s(spec.app_pid),
        tree_cpu_s(spec.pg_pid),
        machine,
    )


async def _cpu_during(spec: LoadSpec, w0: float, w1: float) -> Cpu:
    await asyncio.sleep(max(0.0, w0 - time.perf_counter()))
    before = _cpu_snapshot(spec)
    await asyncio.sleep(max(0.0, w1 - time.perf_counter()))
    after = _cpu_snapshot(spec)
    wall, gen, app, pg, machine = (a - b for a, b in zip(after, before, strict=True))
    # A process that exits within the window takes its CPU time with it: clamp at zero.
    app, pg = max(0.0, app), max(0.0, pg)
    return Cpu(
        generator=gen / wall,
        app=app / wall,
        postgres=pg / wall,
        other=max(0.0, machine - gen - app - pg) / wall,
    )


# What a request ended with: None on success, else the error kind and a sample.
Outcome = tuple[str | None, str]
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class RawConnection:
    """One keep-alive HTTP/1.1 connection sending prepared requests.

    Just enough HTTP for uvicorn's JSON replies (Content-Length, no chunking), at a small
    fraction of httpx's CPU per request: the generator shares 2 cores with the servers.
    """

    def __init__(self, url: str) -> None:
        parts = httpx.URL(url)
        self._host, self._port = parts.host, parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def request(self, method: str, path: str, body: bytes | None) -> bytes:
        """The bytes of one request."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
        if body is None:
            return f"{head}\r\n".encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    async def send(self, request: bytes, *, timeout_s: float) -> Outcome:
        """Send one request and read its reply; any failure closes the connection."""
        try:
            async with asyncio.timeout(timeout_s):
                if self._reader is None or self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(
                        self._host, self._port
                    )
                self._writer.write(request)
                head = await self._reader.readuntil(b"\r\n\r\n")
                length = _CONTENT_LENGTH.search(head)
                if length is None:
                    raise ValueError(f"reply without Content-Length: {head[:200]!r}")
                body = await self._reader.readexactly(int(length.group(1)))
            status = int(head[9:12])
            if 200 <= status < 300:
                return None, ""
            return f"HTTP {status}", body[:200].decode(errors="replace")
        except TimeoutError:  # before OSError, of which it is a subclass
            self.close()
            return "timeout", ""
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()  # IncompleteReadError is an EOFError: the server closed the connection
            return type(exc).__name__, str(exc)[:200]

    def close(self) -> None:
        """Drop the connection; the next request opens a new one."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _drive(spec: LoadSpec) -> Measurement:
    records: list[_Record] = []
    samples: dict[str, str] = {}
    method = "POST" if spec.bodies else "GET"
    w0 = time.perf_counter() + spec.warmup_s
    w1 = w0 + spec.duration_s

    async def connection(n: int) -> None:
        conn = RawConnection(spec.url)
        prepared = [conn.request(method, spec.path, b) for b in spec.bodies or (None,)]
        try:
            while (start := time.perf_counter()) < w1:
                error, sample = await conn.send(
                    prepared[n % len(prepared)], timeout_s=spec.timeout_s
                )
                records.append(_Record(start, time.perf_counter(), error))
                if error is not None:
                    samples.setdefault(error, sample)
                n += spec.concurrency  # each connection walks its own share of the bodies
        finally:
            conn.close()

    cpu = asyncio.create_task(_cpu_during(spec, w0, w1))
    await asyncio.gather(*(connection(i) for i in range(spec.concurrency)))
    window_cpu = await cpu

    ok_in_window = sum(1 for r in records if r.error is None and w0 <= r.end <= w1)
    latencies = [r.end - r.start for r in records if r.error is None and w0 <= r.start < w1]
    errors: dict[str, int] = {}
    for r in records:
        if r.error is not None and r.end >= w0:
            errors[r.error] = errors.get(r.error, 0) + 1
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000 if latencies else (None, None)
    return Measurement(
        goodput=ok_in_window / spec.duration_s,
        p50_ms=None if p50 is None else float(p50),
        p99_ms=None if p99 is None else float(p99),
        ok=ok_in_window,
        errors=errors,
        error_samples={k: v for k, v in samples.items() if k in errors},
        cpu=window_cpu,
    )


def generate_load(spec: LoadSpec) -> Measurement:
    """One closed-loop run in this process (idle otherwise: the servers are subprocesses)."""
    return uvloop.run(_drive(spec))


# -- report ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Results:
    """Every measurement, by (scenario, concurrency, app name)."""

    apps: list[AppSpec]
    cells: dict[tuple[str, int, str], Measurement] = field(default_factory=dict)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[red]MISS[/]"


def print_results(
    results: Results, *, scenario_names: Sequence[str], levels: Sequence[int]
) -> None:
    """The table, the errors seen and whether pgsearch meets the goals."""
    baseline = next(a.name for a in results.apps if a.kind == "textbook")
    top = max(levels)
    table = Table(title="closed loop on 127.0.0.1; pgsearch rows vs the textbook at the same level")
    table.add_column("endpoint")
    table.add_column("conns", justify="right")
    table.add_column("app")
    for column in ["goodput/s", "p50 ms", "p99 ms", "errors", "×textbook"]:
        table.add_column(column, justify="right")
    table.add_column("≥ textbook", justify="center")
    table.add_column(f"0 errors @{top}", justify="center")
    table.add_column("CPU cores gen/app/pg/other", justify="right")
    goodput_ok = errors_ok = True
    for name in scenario_names:
        for level in levels:
            base = results.cells[(name, level, baseline)]
            for app in results.apps:
                m = results.cells[(name, level, app.name)]
                ratio = goodput_verdict = errors_verdict = ""
                if app.kind == "pgsearch":
                    ratio = f"{m.goodput / base.goodput:.2f}" if base.goodput else "∞"
                    goodput_ok &= m.goodput >= base.goodput
                    goodput_verdict = _verdict(m.goodput >= base.goodput)
                    if level == top:
                        errors_ok &= m.error_count == 0
                        errors_verdict = _verdict(m.error_count == 0)
                cpu = m.cpu
                saturated = "!" if cpu.generator >= GENERATOR_SATURATED_CORES else ""
                table.add_row(
                    name,
                    str(level),
                    app.name,
                    f"{m.goodput:,.1f}",
                    _ms(m.p50_ms),
                    _ms(m.p99_ms),
                    f"{m.error_count}{'†' if m.wedged else ''}",
                    ratio,
                    goodput_verdict,
                    errors_verdict,
                    f"{cpu.generator:.2f}{saturated} / {cpu.app:.2f} / {cpu.postgres:.2f}"
                    f" / {cpu.other:.2f}",
                )
            table.add_section()
    console.print(table)
    if any(m.wedged for m in results.cells.values()):
        console.print(
            f"† the app did not answer within {PROBE_TIMEOUT_S:g} s after the run: restarted"
        )
    for (name, level, app_name), m in results.cells.items():
        if m.errors:
            kinds = ", ".join(f"{kind} ×{count}" for kind, count in sorted(m.errors.items()))
            console.print(f"errors, {app_name}, {name} @{level}: {kinds}")
            for kind, sample in m.error_samples.items():
                if sample:
                    console.print(f"  {kind}: {sample}")

    console.print(f"goal: pgsearch has zero errors at {top} connections: {_verdict(errors_ok)}")
    console.print(f"goal: pgsearch goodput ≥ textbook at every level: {_verdict(goodput_ok)}")


def print_markdown(
    results: Results, *, scenario_names: Sequence[str], levels: Sequence[int]
) -> None:
    """The main table as Markdown, for the README."""
    baseline = next(a.name for a in results.apps if a.kind == "textbook")
    print("| endpoint | conns | app | goodput/s | p50 ms | p99 ms | errors | ×textbook |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name in scenario_names:
        for level in levels:
            base = results.cells[(name, level, baseline)].goodput
            for app in results.apps:
                m = results.cells[(name, level, app.name)]
                ratio = ""
                if app.kind == "pgsearch":
                    ratio = f"{m.goodput / base:.2f}" if base else "∞"
                errors = f"{m.error_count}{'†' if m.wedged else ''}"
                print(
                    f"| {name} | {level} | {app.name} | {m.goodput:,.1f} | {_ms(m.p50_ms)} | "
                    f"{_ms(m.p99_ms)} | {errors} | {ratio} |"
                )


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per run (default 2)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[16, 64, 256], help="connections"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of the multi-worker run")
    parser.add_argument("--users", type=int, default=100, help="users (GET /users returns all)")
    parser.add_argument("--documents", type=int, help="documents to search (default 3000)")
    parser.add_argument("--timeout", type=float, help="per-request timeout, s (default 30)")
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=["users", "text"], help="what to load"
    )
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (3.0 if quick else 10.0)
    args.warmup = args.warmup or (1.0 if quick else 2.0)
    args.documents = args.documents or (1000 if quick else 3000)
    # A deadlocked app holds every request until the timeout: a smoke run need not wait 30 s.
    args.timeout = args.timeout or (10.0 if quick else 30.0)
    if not 1 <= args.users <= 1000:
        parser.error("--users must be 1-1000 (pgsearch's GET /users limit)")
    if max(args.concurrency) > 1000:
        parser.error("--concurrency above 1000 would exceed the open-file limit")
    return args


def run_one(
    server: Server,
    case: Scenario,
    *,
    level: int,
    args: argparse.Namespace,
    pg_pid: int,
) -> Measurement:
    """One closed-loop run; a server left unresponsive by it is restarted (and marked wedged)."""
    ready_for(server, case, users=args.users)
    m = generate_load(
        LoadSpec(
            url=server.url,
            path=case.path(server.spec.kind),
            bodies=case.bodies,
            concurrency=level,
            warmup_s=args.warmup,
            duration_s=args.duration,
            timeout_s=args.timeout,
            app_pid=server.pid,
            pg_pid=pg_pid,
        )
    )
    # Requests the client gave up on may still hold the server (a deadlocked pool never frees
    # itself): the next run must not inherit them.
    time.sleep(1.0)
    if not server.answers(timeout_s=PROBE_TIMEOUT_S):
        m.wedged = True
        server.restart()
    return m


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the results."""
    args = parse_args(argv)
    exit_cleanly_on_sigterm()
    started = time.monotonic()
    apps = [
        AppSpec("textbook", "textbook"),
        AppSpec("pgsearch", "pgsearch"),
        AppSpec(f"pgsearch ×{args.workers}", "pgsearch", workers=args.workers),
    ]
    levels: list[int] = args.concurrency
    runs = len(args.scenarios) * len(levels) * len(apps)
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(
        f"{os.cpu_count()} CPUs, load average {load}; {runs} runs of "
        f"{args.warmup:g} s warm-up + {args.duration:g} s"
    )
    ds = synthetic_dataset(n=args.documents, n_queries=200, seed=1)
    try:
        with ExitStack() as stack:
            database = stack.enter_context(bench_database())
            servers = [Server(spec, database) for spec in apps]
            for server in servers:
                stack.callback(server.stop)
                server.start()
                console.print(f"started {server.spec.name} at {server.url}")
            seed_started = time.monotonic()
            owner = seed(servers[1].url, ds, users=args.users)
            with database.connect() as conn:
                conn.execute("VACUUM ANALYZE")  # fresh statistics for the planner
            console.print(
                f"seeded {args.users} users and {ds.n} documents of user {owner} "
                f"in {time.monotonic() - seed_started:.1f} s"
            )
            cases = scenarios(ds, owner=owner, users=args.users, names=args.scenarios)
            results = Results(apps=apps)
            pg_pid = database.postmaster_pid()
            for case in cases:
                for level in levels:
                    for server in servers:
                        m = run_one(server, case, level=level, args=args, pg_pid=pg_pid)
                        results.cells[(case.name, level, server.spec.name)] = m
                        console.print(
                            f"{case.name:>13} @{level:<3} {server.spec.name:<11} "
                            f"{m.goodput:8,.1f}/s  p50 {_ms(m.p50_ms):>8} ms  "
                            f"p99 {_ms(m.p99_ms):>8} ms  errors {m.error_count}"
                            + ("  (wedged: restarted)" if m.wedged else "")
                        )
            names = [c.name for c in cases]
            print_results(results, scenario_names=names, levels=levels)
            if args.markdown:
                print_markdown(results, scenario_names=names, levels=levels)
    except KeyboardInterrupt:
        console.print("interrupted: servers and database stopped")
        raise SystemExit(130) from None
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(f"done in {(time.monotonic() - started) / 60:.1f} min; load average {load}")


if __name__ == "__main__":
    main()
