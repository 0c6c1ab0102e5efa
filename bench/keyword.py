"""Keyword (BM25), hybrid and semantic search on real text, through the service layer.

Run:  uv run python -m bench.keyword           (100k chunks of man pages, ~15 min on 2 cores)
      uv run python -m bench.keyword --quick   (20k chunks, ~4 min)
      uv run python -m bench.keyword --large --data-dir DIR   (1M chunks; DIR is kept and
          reused: the first run loads it, later ones, on newer code too, only measure)

On an embedded PostgreSQL (throwaway unless `--data-dir`): man pages (bench/manpages.py) become
documents of ~800-char chunks, embedded with wordllama (fast; the model does not matter here)
and stored through `store_documents` (triggers keep the BM25 postings), then VACUUM ANALYZE as
autovacuum would. `--large`: 1M chunks of real text (bench/realtext.py: every man page, then
other text that ships with the machine), stored the same way but with the search indexes built
after the load, the HNSW index only when a semantic or hybrid search is measured (`--modes`).
Queries: the pages' NAME lines ("list directory contents"). Measured, passes interleaved:
- QPS, p50 and p95 of `services.search.search` per mode, one session per query from
  `db.get_read_db` as a request has; query vectors are computed beforehand, so no mode pays for
  embedding; goals as ratios to semantic in the same run;
- recall@10 of keyword documents against exact BM25 over the same lexemes, computed by `bm25s`
  (a document's score is its best chunk's), and how often each mode returned k documents;
- ingest rate and postings size per chunk (information; bench/search.py has the ingest goal).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial
from itertools import repeat
from pathlib import Path

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bench import realtext
from bench.common import (
    BenchDatabase,
    CpuMeter,
    bench_database,
    build_indexes,
    drop_search_indexes,
    exit_cleanly_on_sigterm,
    time_calls,
)
from bench.manpages import load_manpages
from bench.realtext import TextDocument
from pgsearch import db
from pgsearch.analysis.query import query_analyzers
from pgsearch.embedding import Embedder, get_embedder
from pgsearch.models import HNSW_INDEX, Document, User
from pgsearch.schemas import DocumentCreate, SearchMode, SearchRequest
from pgsearch.search import query as search_query
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services import search as search_service
from pgsearch.services import user_facts
from pgsearch.services.documents import store_documents
from pgsearch.services.index import check_model

K = 10
GOAL_KEYWORD_QPS = 0.8
GOAL_HYBRID_QPS = 0.4
GOAL_P95_P50 = 3.0
GOAL_RECALL = 0.97
GOAL_LOW_RECALL_SHARE = 0.05  # of queries below 0.8
GOAL_LARGE_P50_MS = 10.0
GOAL_LARGE_RECALL = 0.95
LARGE_CHUNKS = 1_000_000
# The HNSW graph of 1M 256-d vectors needs ~1.5 GB to be built in memory.
HNSW_MEMORY = "3GB"
# The bench user's name while it is loaded, and once the load is complete.
LOADING = "bench (loading)"
LOADED = "bench"
MODES = ("semantic", "keyword", "hybrid")
LARGE_LANGUAGE = "en"  # `--large`: every document and query is analysed as English
console = Console(width=120)  # whole lines in a log file too


def say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def corpus_documents(args: argparse.Namespace) -> list[TextDocument]:
    """The run's documents: `--large`, n chunks of real text in a random order (so every
    batch has the corpus's mix and average length); else the first n chunks of man pages."""
    if args.large:
        docs = realtext.corpus(n_chunks(args))
        order = np.random.default_rng(args.seed).permutation(len(docs))
        return [docs[i] for i in order]
    return realtext.first_chunks(realtext.manpage_documents(load_manpages()), n_chunks(args))


def n_chunks(args: argparse.Namespace) -> int:
    if args.n is not None:
        return int(args.n)
    return LARGE_CHUNKS if args.large else 20_000 if args.quick else 100_000


def batches(docs: Sequence[TextDocument], chunks: int) -> Iterator[list[TextDocument]]:
    """Consecutive documents of about `chunks` chunks each."""
    batch: list[TextDocument] = []
    size = 0
    for d in docs:
        batch.append(d)
        size += len(d.chunks)
        if size >= chunks:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def embedded(docs: Sequence[TextDocument], embedder: Embedder) -> list[DocumentCreate]:
    """The documents to store, with their chunks' vectors."""
    vectors = embedder.embed([c for d in docs for c in d.chunks])
    zero = [0.0] * embedder.dim
    out: list[DocumentCreate] = []
    start = 0
    for d in docs:
        create = DocumentCreate(
            text=d.text,
            external_id=d.external_id,
            metadata=d.meta,
            chunks=[{"text": c, "embedding": zero} for c in d.chunks],
        )
        for c in create.chunks or ():
            c.embedding = vectors[start].tolist()  # assigned, not validated: fast
            start += 1
        out.append(create)
    return out


def new_user(embedder: Embedder, language: str | None) -> int:
    """The bench user, in a database that records the embedder's model."""
    with db.get_sessionmaker().begin() as session:
        check_model(session, embedder)  # records the model: the vector dimension, HNSW index
        user = User(name=LOADING, language=language)
        session.add(user)
        session.flush()
        return user.id


def load(
    database: BenchDatabase,
    uid: int,
    docs: Sequence[TextDocument],
    *,
    batch_chunks: int,
    workers: int,
) -> None:
    """Store the documents as the user's through `store_documents`, a transaction per batch,
    in `workers` processes (each embeds its batch, then stores it on its own connection;
    the user's row lock makes them store one at a time)."""
    total = sum(len(d.chunks) for d in docs)
    done = 0
    began = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")  # no copy of this process's connections
    with ProcessPoolExecutor(
        workers, mp_context=spawn, initializer=db.configure, initargs=(database.config,)
    ) as pool:
        stored = pool.map(store_batch, repeat(uid), batches(docs, batch_chunks))
        for count in stored:
            done += count
            if done // 50_000 != (done - count) // 50_000:
                rate = done / (time.perf_counter() - began)
                say(f"{done:,} / {total:,} chunks stored, {rate:,.0f} chunks/s")


def store_batch(uid: int, docs: Sequence[TextDocument]) -> int:
    """Embed and store documents in one transaction (in a loader process); chunks stored."""
    embedder = get_embedder("wordllama")
    ready = embedded(docs, embedder)
    with db.get_sessionmaker().begin() as session:
        store_documents(session, user_id=uid, docs=ready, embedder=embedder, dim=embedder.dim)
    return sum(len(d.chunks) for d in docs)


def loaded_user(database: BenchDatabase) -> int | None:
    """The user of a finished earlier load in this database, if any."""
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT id, name FROM users WHERE name IN (%s, %s)", (LOADED, LOADING)
        ).fetchall()
    for uid, name in rows:
        if name == LOADING:
            raise SystemExit(f"{database.tmp_dir} holds an unfinished load: delete it first")
        return int(uid)
    return None


def prepare(database: BenchDatabase, args: argparse.Namespace, embedder: Embedder) -> int:
    """Load the corpus (unless an earlier run's data dir holds it); the bench user's id.

    `--large` loads in bulk, as a bulk loader would: the search indexes are dropped first and
    built after (postings are still written by the triggers, row by row), the HNSW index only
    when a mode needs it (`vector_index`).
    """
    uid = loaded_user(database)
    if uid is not None:
        say(f"reusing the data loaded earlier in {database.tmp_dir}")
        return uid
    say(f"reading {n_chunks(args):,} chunks of {'real text' if args.large else 'man pages'}")
    docs = corpus_documents(args)
    # Before the indexes are dropped: recording the model makes HNSW. `--large`: English, as
    # the truth's queries are read; otherwise each document's language is detected.
    uid = new_user(embedder, LARGE_LANGUAGE if args.large else None)
    dropped = drop_search_indexes(database) if args.large else {}
    batch = args.batch or (5_000 if args.large else 2_000)
    say(
        f"loading (wordllama vectors, store_documents, {batch:,} chunks per transaction,"
        f" {args.workers} processes)"
    )
    began = time.perf_counter()
    load(database, uid, docs, batch_chunks=batch, workers=args.workers)
    loaded_s = time.perf_counter() - began
    built_s = build_indexes(database, {n: d for n, d in dropped.items() if n != HNSW_INDEX.name})
    with database.connect() as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("UPDATE users SET name = %s WHERE id = %s", (LOADED, uid))
    n = sum(len(d.chunks) for d in docs)
    say(
        f"loaded {n:,} chunks in {loaded_s:,.0f} s ({n / loaded_s:,.0f} chunks/s)"
        + (f", then the keyword indexes built in {built_s:,.0f} s" if dropped else "")
    )
    return uid


def vector_index(database: BenchDatabase) -> None:
    """Build the HNSW index if the load left it out (`--large`)."""
    with database.connect() as conn:
        found = conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (HNSW_INDEX.name,))
        if found.fetchone() is not None:
            return
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    definition = str(CreateIndex(HNSW_INDEX).compile(dialect=dialect))
    say("building the HNSW index")
    seconds = build_indexes(database, {"hnsw": definition}, memory=HNSW_MEMORY)
    say(f"HNSW index built in {seconds:,.0f} s")


def bench_queries(database: BenchDatabase, uid: int, count: int, seed: int) -> list[str]:
    """NAME-line descriptions of the loaded man pages, e.g. "list directory contents"."""
    with database.connect() as conn:
        lines = [
            str(r[0])
            for r in conn.execute(
                "SELECT metadata->>'name_line' FROM documents"
                " WHERE user_id = %s AND metadata->>'source' = 'man' ORDER BY id",
                (uid,),
            )
        ]
    described = [line.split(" - ", 1)[1] for line in lines if " - " in line]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(described), size=min(count, len(described)), replace=False)
    return [described[i] for i in picked if len(described[i].split()) >= 2]


@dataclass
class Truth:
    """A query's exact BM25 top K documents, and the exact scores of the best documents."""

    best: list[str]
    scores: dict[str, float]  # at least the top K's, and every document tied with them

    def hits(self, found: Sequence[str]) -> int:
        """Found documents in the exact top K, counting a document whose exact score equals
        the K-th's as one (which of tied documents make the top K is arbitrary)."""
        if not self.best:
            return 0
        kth = self.scores[self.best[-1]]
        tied = sum(
            1 for d in found if d not in self.best and self.scores.get(d, 0) >= kth * (1 - 1e-6)
        )
        return min(len(self.best), len(set(found) & set(self.best)) + tied)


def chunk_tokens(
    database: BenchDatabase, uid: int
) -> tuple[list[NDArray[np.int32]], dict[str, int], list[str]]:
    """Each of the user's chunks as token ids (a lexeme once per occurrence, as the service
    counts it), the vocabulary, and each chunk's document (external id).

    Streamed, and ids rather than strings: a million chunks' tokens as Python strings would
    take many GB.
    """
    vocab: dict[str, int] = {}
    tokens: list[NDArray[np.int32]] = []
    doc_of: list[str] = []
    with database.connect(autocommit=False) as conn, conn.cursor(name="tokens") as cur:
        cur.itersize = 10_000
        cur.execute(
            "SELECT d.external_id, array(SELECT u.lexeme FROM unnest(c.tsv) u,"
            " generate_series(1, greatest(cardinality(u.positions), 1)))"
            " FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.user_id = %s ORDER BY c.id",
            (uid,),
        )
        for external_id, lexemes in cur:
            ids = [vocab.setdefault(t, len(vocab)) for t in lexemes]
            tokens.append(np.array(ids, dtype=np.int32))
            doc_of.append(external_id)
    return tokens, vocab, doc_of


def exact_bm25(
    database: BenchDatabase, uid: int, texts: Sequence[str], params: Bm25Params
) -> list[Truth]:
    """The top-K documents per query by exact BM25 (bm25s over the service's own lexemes)."""
    tokens, vocab, doc_of = chunk_tokens(database, uid)
    with database.connect() as conn:
        query_lexemes = [
            conn.execute(
                "SELECT array(SELECT lexeme FROM unnest(to_tsvector('english', %s)))", (q,)
            ).fetchone()[0]  # type: ignore[index]
            for q in texts
        ]
    retriever = bm25s.BM25(method="lucene", k1=params.k1, b=params.b)
    retriever.index(Tokenized(ids=tokens, vocab=vocab), show_progress=False)
    del tokens
    truth: list[Truth] = []
    for lexemes in query_lexemes:
        known = [t for t in lexemes if t in vocab]
        if not known:
            truth.append(Truth([], {}))
            continue
        scores = retriever.get_scores(known)
        order = np.argsort(-scores, kind="stable")
        best: list[str] = []
        doc_scores: dict[str, float] = {}
        for i in order:
            if scores[i] <= 0:
                break
            if len(best) == K and scores[i] < doc_scores[best[-1]] * (1 - 1e-6):
                break  # past the K-th document and all tied with it
            name = doc_of[i]
            if name not in doc_scores:
                doc_scores[name] = float(scores[i])  # a document's best chunk comes first
                if len(best) < K:
                    best.append(name)
        truth.append(Truth(best, doc_scores))
    return truth


def kept_truth(
    database: BenchDatabase,
    uid: int,
    texts: Sequence[str],
    params: Bm25Params,
    *,
    chunks: int,
    keep: Path | None,
) -> list[Truth]:
    """`exact_bm25`, kept in `keep` (the kept database's dir) for later runs on its data."""
    if keep is None:
        return exact_bm25(database, uid, texts, params)
    key = json.dumps([list(texts), params.k1, params.b, chunks]).encode()
    path = keep / f"bm25-truth-{hashlib.sha256(key).hexdigest()[:16]}.json"
    if path.exists():
        say(f"exact BM25 as computed by an earlier run ({path.name})")
        return [Truth(**t) for t in json.loads(path.read_text())]
    truth = exact_bm25(database, uid, texts, params)
    path.write_text(json.dumps([asdict(t) for t in truth]))
    return truth


def caller(
    uid: int,
    mode: SearchMode,
    texts: Sequence[str],
    vectors: NDArray[np.float32],
    embedder: Embedder,
    found: dict[int, list[str]],
    params: Bm25Params,
) -> Callable[[int], object]:
    def call(i: int) -> None:
        request = SearchRequest(
            query=texts[i] if mode != "semantic" else None,
            vector=vectors[i].tolist() if mode != "keyword" else None,
            mode=mode,
            k=K,
        )
        session = db.get_read_sessionmaker()()
        try:
            response = search_service.search(
                session,
                user_id=uid,
                request=request,
                embedder=embedder,
                bm25_params=params,
            )
        finally:
            session.close()
        found[i] = [str(h.external_id) for h in response.results]

    return call


def native_installed() -> bool:
    """Whether searches would use pgsearch's C extension here (the service's own check)."""
    with db.get_engine().connect() as conn:
        return bool(conn.scalar(user_facts.NATIVE))


def first_statement_shares(
    uid: int, texts: Sequence[str], params: Bm25Params
) -> tuple[float, float]:
    """How many keyword searches the first statement certifies exact, and how many it ends
    (certified, or returned as the top postings found them: scoring every match would read
    more than `exhaustive_max` postings)."""
    certified = final = 0
    exact = replace(params, exhaustive_max=2**31 - 1)
    with db.get_engine().connect() as conn:
        user_language = conn.execute(select(User.language).where(User.id == uid)).scalar()
        counts = conn.execute(
            select(Document.language, func.count())
            .where(Document.user_id == uid)
            .group_by(Document.language)
        ).all()
        for t in texts:
            # As the service reads the query: by the languages of the user and its documents.
            analyzers = query_analyzers(t, documents=dict(counts), user_language=user_language)
            for p, tally in ((exact, "certified"), (params, "final")):
                values = search_query.search_params(
                    user_id=uid, k=K, query=t, bm25_params=p, analyzers=analyzers
                )
                stmt = search_query.statement("keyword", native=params.native)
                rows = conn.execute(stmt, values).all()
                done = bool(rows and rows[0].complete)
                if tally == "certified":
                    certified += done
                else:
                    final += done
    return certified / len(texts), final / len(texts)


def percentile(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def describe(database: BenchDatabase) -> int:
    """Print the database's size, postings per chunk and bytes; the number of chunks."""
    with database.connect() as conn:
        facts = conn.execute(
            "SELECT (SELECT count(*) FROM chunks), (SELECT count(*) FROM documents),"
            " pg_total_relation_size('bm25_postings'), (SELECT count(*) FROM bm25_postings),"
            " pg_database_size(current_database())"
        ).fetchone()
    assert facts is not None
    chunks, documents, postings_bytes, postings, db_bytes = facts
    say(
        f"{chunks:,} chunks in {documents:,} documents; database {db_bytes / 2**30:.1f} GiB;"
        f" postings {postings / chunks:.1f} and {postings_bytes / chunks:,.0f} B per chunk"
        " (table and indexes)"
    )
    return int(chunks)


def run(args: argparse.Namespace) -> None:
    passes = 3 if args.quick else args.passes
    modes: tuple[SearchMode, ...] = tuple(args.modes)
    # No statement timeout: a loader process may wait its turn on the user's BM25 statistics.
    env = {"PGSEARCH_EMBEDDING_MODEL": "wordllama", "DB_STATEMENT_TIMEOUT_MS": "0"}
    say(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with bench_database(env, keep_in=args.data_dir) as database:
        embedder = get_embedder("wordllama")
        uid = prepare(database, args, embedder)
        chunks = describe(database)
        if set(modes) & {"semantic", "hybrid"}:
            vector_index(database)
        texts = bench_queries(database, uid, args.queries, args.seed)
        vectors = embedder.embed(texts)
        say(f"{len(texts)} queries; exact BM25 with bm25s")
        truth = kept_truth(database, uid, texts, Bm25Params(), chunks=chunks, keep=args.data_dir)

        found: dict[str, dict[int, list[str]]] = {m: {} for m in modes}
        params = Bm25Params(
            per_term=args.per_term,
            rescore=args.rescore,
            exact=not args.approximate,
            exhaustive_max=args.exhaustive_max,
            native=not args.sql and native_installed(),
        )
        say(f"BM25 top postings read by {'pgsearch_bm25 (C)' if params.native else 'SQL'}")
        calls = {m: caller(uid, m, texts, vectors, embedder, found[m], params) for m in modes}
        for m in modes:  # warm-up: caches, prepared statements
            time_calls(calls[m], min(len(texts), 30))
        runs: dict[str, list[list[float]]] = {m: [] for m in modes}
        cpu: dict[str, CpuMeter] = {m: CpuMeter(database) for m in modes}
        for p in range(passes):
            for m in modes:
                latencies = cpu[m].measure(partial(time_calls, calls[m], len(texts)))
                cpu[m].calls += len(texts)
                runs[m].append(latencies.seconds)
            say(f"pass {p + 1}/{passes} done")
        certified, final = first_statement_shares(uid, texts, params)
        report(args, n=chunks, texts=texts, truth=truth, found=found, runs=runs, cpu=cpu)
        console.print(
            f"keyword top k certified exact by the top postings alone: {certified:.0%} of"
            f" queries; returned uncertified (scoring every match would read more than"
            f" {params.exhaustive_max:,} postings): {final - certified:.0%}; the others scored"
            " every matching chunk"
        )
    say(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


@dataclass(frozen=True)
class Timing:
    """A mode's pass with the median QPS."""

    qps: float
    p50_ms: float
    p95_ms: float


def timings(runs: dict[str, list[list[float]]]) -> dict[str, Timing]:
    out = {}
    for m, passes in runs.items():
        chosen = sorted(passes, key=lambda s: sum(s))[(len(passes) - 1) // 2]
        out[m] = Timing(len(chosen) / sum(chosen), percentile(chosen, 50), percentile(chosen, 95))
    return out


def keyword_recall(truth: list[Truth], found: dict[int, list[str]]) -> tuple[float, float]:
    """Mean recall@K of keyword search and the share of queries below 0.8 (printed, with the
    strict figure that counts only bm25s's own pick among tied documents)."""
    recalls, strict = [], []
    for i, t in enumerate(truth):
        if t.best:
            recalls.append(t.hits(found[i]) / len(t.best))
            strict.append(len(set(found[i]) & set(t.best)) / len(t.best))
    mean = statistics.fmean(recalls)
    low = sum(1 for r in recalls if r < 0.8) / len(recalls)
    console.print(
        f"keyword recall@{K} vs exact BM25 (bm25s), a document tied with the {K}-th counting:"
        f" mean {mean:.3f}, {low:.1%} of {len(recalls)} queries below 0.8; counting only"
        f" bm25s's own pick among tied documents: mean {statistics.fmean(strict):.3f},"
        f" {sum(1 for r in strict if r < 0.8) / len(strict):.1%} below 0.8"
    )
    return mean, low


def report(
    args: argparse.Namespace,
    *,
    n: int,
    texts: Sequence[str],
    truth: list[Truth],
    found: dict[str, dict[int, list[str]]],
    runs: dict[str, list[list[float]]],
    cpu: dict[str, CpuMeter],
) -> None:
    table = Table(
        title=f"search at {n:,} chunks of {'real text' if args.large else 'man pages'}, k={K},"
        f" {len(texts)} queries, BM25 top {args.per_term} postings for the rarest term,"
        f" {args.rescore} re-scored, exhaustive up to {args.exhaustive_max:,} postings"
        + (", approximate" if args.approximate else "")
        + (", SQL form" if args.sql else "")
    )
    columns = ("mode", "QPS", "p50 ms", "p95 ms", "p95/p50", "vs semantic", "k results")
    for col in (*columns, "CPU ms: server + client", "CPU vs semantic"):
        table.add_column(col, justify="right")
    t = timings(runs)
    cpu_ms = {m: sum(meter.per_call_ms()) for m, meter in cpu.items()}
    for m, tm in t.items():
        full = sum(1 for r in found[m].values() if len(r) == K) / len(found[m])
        ratio = f"{tm.qps / t['semantic'].qps:.2f}" if "semantic" in t else ""
        server, client = cpu[m].per_call_ms()
        table.add_row(
            m,
            f"{tm.qps:.0f}",
            f"{tm.p50_ms:.2f}",
            f"{tm.p95_ms:.2f}",
            f"{tm.p95_ms / tm.p50_ms:.2f}",
            ratio,
            f"{full:.0%}",
            f"{server:.2f} + {client:.2f}",
            f"{cpu_ms['semantic'] / cpu_ms[m]:.2f}" if "semantic" in cpu_ms else "",
        )
    console.print(table)
    if "keyword" not in t:
        return
    mean, low = keyword_recall(truth, found["keyword"])
    goals = [
        ("p95 ≤ 3× p50 in each mode", all(x.p95_ms <= GOAL_P95_P50 * x.p50_ms for x in t.values())),
        (f"mean recall@{K} ≥ {GOAL_RECALL}", mean >= GOAL_RECALL),
        ("≤ 5 % of queries below recall 0.8", low <= GOAL_LOW_RECALL_SHARE),
    ]
    if "semantic" in t:
        semantic = t["semantic"].qps
        goals.append(
            ("keyword QPS ≥ 0.8× semantic", t["keyword"].qps >= GOAL_KEYWORD_QPS * semantic)
        )
        if "hybrid" in t:
            goals.append(
                ("hybrid QPS ≥ 0.4× semantic", t["hybrid"].qps >= GOAL_HYBRID_QPS * semantic)
            )
    if args.large:
        goals.append(
            (
                f"1M: keyword p50 ≤ {GOAL_LARGE_P50_MS:.0f} ms at recall@{K} ≥ {GOAL_LARGE_RECALL}",
                t["keyword"].p50_ms <= GOAL_LARGE_P50_MS and mean >= GOAL_LARGE_RECALL,
            )
        )
    for name, ok in goals:
        console.print(f"{'[green]met' if ok else '[red]missed'}[/]  {name}")


def modes(value: str) -> list[str]:
    """`--modes`: comma-separated search modes."""
    found = value.split(",")
    if not found or any(m not in MODES for m in found):
        raise argparse.ArgumentTypeError(f"{value!r}: give some of {','.join(MODES)}")
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, help="chunks (default 100k; --quick 20k, --large 1M)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passes", type=int, default=5, help="timed passes (median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20k chunks, 3 passes")
    parser.add_argument(
        "--large",
        action="store_true",
        help="1M chunks of real text (bench/realtext.py), loaded in bulk; see --data-dir",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the database here and reuse it in later runs (default: a throwaway one)",
    )
    parser.add_argument(
        "--modes",
        type=modes,
        default=list(MODES),
        help="comma-separated: semantic,keyword,hybrid (all by default)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="loading processes, each on its own connection"
    )
    parser.add_argument(
        "--batch", type=int, help="chunks per transaction (default 2,000; --large 5,000)"
    )
    defaults = Bm25Params()
    parser.add_argument("--per-term", type=int, default=defaults.per_term, help="BM25 postings")
    parser.add_argument("--rescore", type=int, default=defaults.rescore, help="BM25 re-scored")
    parser.add_argument(
        "--exhaustive-max",
        type=int,
        default=defaults.exhaustive_max,
        help="BM25: postings the exhaustive fallback may read",
    )
    parser.add_argument(
        "--approximate", action="store_true", help="keyword: no exhaustive fallback"
    )
    parser.add_argument(
        "--sql", action="store_true", help="BM25: the SQL form even where pgsearch_bm25 is"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    exit_cleanly_on_sigterm()
    began = time.perf_counter()
    run(args)
    say(f"done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
