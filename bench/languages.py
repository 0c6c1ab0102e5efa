"""Language analysis: detection on short texts, CJK segmenters against bigrams, ingest speed.

    uv run python -m bench.languages                  # all three parts
    uv run python -m bench.languages --part detect    # or: segment, ingest, embed

- `detect`: accuracy of `detect_language` on snippets of 20, 40 and 60 characters of the
  multilingual sets (200 per language and length, a fixed seed), and its cost per call.
- `segment`: keyword recall@5 on the Korean, Japanese and Chinese sets with each CJK analyzer
  against the dictionary-free alternative, overlapping character bigrams of CJK runs (what
  Elasticsearch's `cjk` analyzer does). Scored by one BM25 in Python over each analysis's
  words, so only the analysis differs; the chunk-per-second rate of each analysis is printed.
- `ingest`: chunks/s of storing chunks (client vectors, no embedding) through the service's
  path for each language's analyzer, against today's English path: a COPY whose `tsv` the
  database makes with `to_tsvector('english', text)`; both in one run, each repeated.
- `embed`: CPU time per chunk of the built-in models on German chunks (`--lang`), MiniLM as the
  baseline of the same run and e5 in its settings (threads, OpenMP waiting, batch size), each
  in a fresh interpreter (the engine's OpenMP reads its settings once), alternated and
  repeated; with wall-clock chunks/s and peak RSS. CPU time, because on a shared machine the
  wall clock measures the other work: a process given a third of a core runs 3x slower.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import psutil
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bench.common import bench_database
from bench.embedders import peak_rss_mb
from pgsearch import db
from pgsearch.analysis import ANALYZERS, Analyzer, detect_language, for_index, normalize
from pgsearch.db import driver_connection
from pgsearch.evaluation import multilingual
from pgsearch.ingest.chunking import chunk_text
from pgsearch.models import Chunk, Document, User
from pgsearch.repositories import documents as repo

LENGTHS = (20, 40, 60)
SNIPPETS = 200
_WORD = re.compile(r"\w+")
_CJK_RUN = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
)


# -- detection ----------------------------------------------------------------------------------


def snippets(text: str, length: int, rng: random.Random, spaced: bool) -> str:
    """`length` characters of `text` from a random place (a word start where words are spaced)."""
    flat = " ".join(text.split())
    i = rng.randrange(0, max(1, len(flat) - length))
    while spaced and i > 0 and flat[i - 1] != " ":
        i -= 1
    return flat[i : i + length]


def bench_detect() -> None:
    rng = random.Random(7)
    print(f"detect_language on snippets ({SNIPPETS} per language and length)")
    print("lang  " + "  ".join(f"{n:>4}ch" for n in LENGTHS))
    total, calls, spent = 0.0, 0, 0.0
    for lang in multilingual.LANGUAGES:
        texts = [d.text for d in multilingual.load(lang).docs if len(d.text) > 80]
        accs = []
        for length in LENGTHS:
            sample = [
                snippets(t, length, rng, lang not in ("ja", "zh"))
                for t in rng.sample(texts, SNIPPETS)
            ]
            t0 = time.perf_counter()
            ok = sum(detect_language(s) == lang for s in sample)
            spent += time.perf_counter() - t0
            calls += len(sample)
            accs.append(ok / len(sample))
        total += sum(accs)
        print(f"{lang:4s}  " + "  ".join(f"{a:6.2f}" for a in accs))
    print(
        f"mean {total / (len(LENGTHS) * len(multilingual.LANGUAGES)):.3f}, "
        f"{spent / calls * 1e6:.0f} µs per call"
    )


# -- segmentation -------------------------------------------------------------------------------


def words(analysed: str) -> list[str]:
    return _WORD.findall(analysed)


def bigrams(text: str) -> list[str]:
    """Overlapping bigrams of CJK runs (a lone character alone), other text as words."""
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(text):
        out += words(normalize(text[pos : m.start()]))
        run = m.group()
        out += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        pos = m.end()
    return out + words(normalize(text[pos:]))


def recall_at_5(
    docs: Sequence[str], queries: Sequence[tuple[int, str]], analyse: Callable[[str], list[str]]
) -> tuple[float, float]:
    """(BM25 recall@5, chunks of 800 characters analysed per second)."""
    analyse(docs[0])  # loads a segmenter outside the timing
    t0 = time.perf_counter()
    doc_words = [analyse(d) for d in docs]
    rate = sum(len(d) for d in docs) / 800 / (time.perf_counter() - t0)
    n = len(docs)
    avgdl = sum(map(len, doc_words)) / n
    tfs = [Counter(w) for w in doc_words]
    df = Counter(w for tf in tfs for w in tf)
    hits = 0
    for relevant, query in queries:
        terms = set(analyse(query))
        scores = np.zeros(n)
        for i, tf in enumerate(tfs):
            length = len(doc_words[i])
            for t in terms:
                f = tf.get(t)
                if f:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    scores[i] += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / avgdl))
        top = np.argsort(-scores, kind="stable")[:5]
        hits += int(relevant in top and scores[relevant] > 0)
    return hits / len(queries), rate


def bench_segment() -> None:
    print("keyword recall@5 (BM25 over each analysis's words) and chunks/s of the analysis")
    for lang in ("ko", "ja", "zh"):
        corpus = multilingual.load(lang)
        ids = {d.id: i for i, d in enumerate(corpus.docs)}
        docs = [d.text for d in corpus.docs]
        queries = [(ids[q.relevant_id], q.text) for q in corpus.queries]
        analyzer = ANALYZERS[lang]
        before = current_rss_mb()
        for_index(docs[0], analyzer)
        print(f"{lang}  {analyzer.segmenter} loaded: +{current_rss_mb() - before:.0f} MB RSS")
        for name, analyse in (
            (f"{analyzer.segmenter}", lambda t, a=analyzer: words(for_index(t, a))),
            ("bigrams", bigrams),
        ):
            r5, rate = recall_at_5(docs, queries, analyse)
            print(f"{lang}  {name:9s}  R@5 {r5:.3f}  {rate:7.0f} chunks/s  (n={len(queries)})")
    print(f"peak RSS with all segmenters loaded: {peak_rss_mb():.0f} MB")


def current_rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


# -- ingest -------------------------------------------------------------------------------------

_COPY_TODAY = (
    "COPY chunks (document_id, user_id, chunk_index, text, embedding) FROM STDIN (FORMAT BINARY)"
)


def _rates(
    sessions: sessionmaker[Session],
    ids: tuple[int, int],
    texts: list[str],
    vectors: np.ndarray,
    analyzer: Analyzer,
    repeats: int,
) -> tuple[float, float, float]:
    """(today's chunks/s, the analyzer's chunks/s, the analyzer's max/min time)."""
    uid, doc_id = ids

    def today() -> None:
        with sessions.begin() as session:
            session.execute(delete(Chunk).where(Chunk.document_id == doc_id))
            conn = driver_connection(session.connection())
            with conn.cursor() as cur, cur.copy(_COPY_TODAY) as copy:
                copy.set_types(["int8", "int4", "int4", "text", "vector"])
                for i, (t, v) in enumerate(zip(texts, vectors, strict=True)):
                    copy.write_row((doc_id, uid, i, t, v))

    def analysed() -> None:
        with sessions.begin() as session:
            prepared = [for_index(t, analyzer) for t in texts]
            rows = repo.ChunkRows(doc_id, texts, vectors, analyzer.config, prepared)
            repo.replace_chunks(session, uid, [doc_id], [rows])

    analysed()  # loads the segmenter outside the timing
    times: dict[str, list[float]] = {"today": [], "analysed": []}
    for _ in range(repeats):
        for name, run in (("today", today), ("analysed", analysed)):
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    spread = max(times["analysed"]) / min(times["analysed"])
    return (
        len(texts) / statistics.median(times["today"]),
        len(texts) / statistics.median(times["analysed"]),
        spread,
    )


def bench_ingest(n_chunks: int, repeats: int) -> None:
    print(f"ingest of {n_chunks} chunks per language (client vectors), median of {repeats}")
    rng = np.random.default_rng(7)
    with bench_database():
        sessions = db.get_sessionmaker()
        with sessions.begin() as session:
            user = User(name="bench")
            session.add(user)
            session.flush()
            doc = Document(
                user_id=user.id, text="-", content_hash="-", chunk_count=0, language="en"
            )
            session.add(doc)
            session.flush()
            ids = (user.id, doc.id)
        for lang in multilingual.LANGUAGES:
            texts = [c for d in multilingual.load(lang).docs for c in chunk_text(d.text)]
            texts = texts[:n_chunks]
            vectors = rng.standard_normal((len(texts), 384)).astype(np.float32)
            analyzer = ANALYZERS[lang]
            base, new, spread = _rates(sessions, ids, texts, vectors, analyzer, repeats)
            print(
                f"{lang}  today (english, COPY) {base:6.0f} chunks/s   "
                f"{analyzer.name:9s} {new:6.0f} chunks/s = {new / base:4.2f}x "
                f"(max/min time {spread:.2f})"
            )


# (label, model, environment, threads, batch size). e5's OpenMP threads sleep while they wait
# (as the embedder sets it); GOMP_SPINCOUNT brings back libgomp's own default, 300,000 turns of
# spinning first, which the embedder ran with before.
EMBED_VARIANTS: tuple[tuple[str, str, dict[str, str], int, int], ...] = (
    ("minilm", "minilm", {}, 2, 32),
    ("e5, 2 threads, spinning", "e5-multilingual", {"GOMP_SPINCOUNT": "300000"}, 2, 32),
    ("e5, 2 threads (default)", "e5-multilingual", {}, 2, 32),
    ("e5, 1 thread", "e5-multilingual", {}, 1, 32),
    ("e5, 2 threads, batch 8", "e5-multilingual", {}, 2, 8),
)
_EMBED_ONE = """
import json, resource, sys, time
from pgsearch.embedding import E5SmallEmbedder, MiniLMEmbedder
from pgsearch.evaluation import multilingual
from pgsearch.ingest.chunking import chunk_text
model, lang, n, threads, batch = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
texts = [c for d in multilingual.load(lang).docs for c in chunk_text(d.text)][:n]
factory = MiniLMEmbedder if model == "minilm" else E5SmallEmbedder
embedder = factory(batch_size=batch, num_threads=threads)
embedder.embed(["warm up"])
cpu, wall = time.process_time(), time.perf_counter()
embedder.embed(texts)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu_ms": 1000 * cpu / n, "per_s": n / wall, "rss_mb": rss}))
"""


def bench_embed(lang: str, n_chunks: int, repeats: int) -> None:
    import json
    import os
    import subprocess
    import sys

    print(f"embedding {n_chunks} {lang} chunks, {repeats} rounds of every variant")
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, *_ in EMBED_VARIANTS}
    for _ in range(repeats):
        for label, model, env, threads, batch in EMBED_VARIANTS:
            omp = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
            base = {k: v for k, v in os.environ.items() if k not in omp}
            args = [model, lang, str(n_chunks), str(threads), str(batch)]
            done = subprocess.run(
                [sys.executable, "-c", _EMBED_ONE, *args],
                env=base | env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[label].append(json.loads(done.stdout))
    baseline = statistics.median(r["cpu_ms"] for r in runs["minilm"])
    for label, rows in runs.items():
        cpu = sorted(r["cpu_ms"] for r in rows)
        rate = sorted(r["per_s"] for r in rows)
        print(
            f"{label:28s} CPU {statistics.median(cpu):6.0f} ms/chunk ({cpu[0]:.0f}–{cpu[-1]:.0f})"
            f" = {statistics.median(cpu) / baseline:4.1f}x minilm   wall {rate[0]:.1f}–"
            f"{rate[-1]:.1f} chunks/s   peak RSS {max(r['rss_mb'] for r in rows):.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("detect", "segment", "ingest", "embed"), action="append")
    parser.add_argument("--chunks", type=int, default=1000, help="chunks per language (ingest)")
    parser.add_argument("--embed-chunks", type=int, default=64, help="chunks per run (embed)")
    parser.add_argument("--lang", choices=multilingual.LANGUAGES, default="de", help="(embed)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    parts = args.part or ["detect", "segment", "ingest", "embed"]
    if "detect" in parts:
        bench_detect()
    if "segment" in parts:
        bench_segment()
    if "ingest" in parts:
        bench_ingest(args.chunks, args.repeats)
    if "embed" in parts:
        bench_embed(args.lang, args.embed_chunks, args.repeats)


if __name__ == "__main__":
    main()
