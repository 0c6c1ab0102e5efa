"""Search quality per language, through the service: one user per language in one database.

    uv run python -m bench.multilingual                          # all languages, built-in model
    uv run python -m bench.multilingual --model minilm --lang ko --lang de
    uv run python -m bench.multilingual --json results.json      # also write the numbers
    uv run python -m bench.multilingual --quick                  # 150 queries, 500 documents

Sets (`pgsearch.evaluation.multilingual`): Korean, Japanese and Chinese translated Debian package
descriptions (query = the translated synopsis), German, French and Spanish translated man pages
(query = the NAME line's description) and, for reference, the English originals of those pages.
Each language's documents are stored for a user of their own, exactly as the API stores them, and
every query runs in semantic, keyword and hybrid mode (the model's default fusion); a query
scores when its one relevant document is in the top k. Ingest throughput (chunks/s, embedding
included), the process's CPU time per chunk and its peak RSS are printed too.

`--rule-off` takes the model for one of every language, as before the model-language rule of
hybrid search (services.search.fusion_for), to measure what the rule changes.

`--detect` stores the documents without their language (metadata `lang`), so each is
detected, as for a client that does not say: the user's collection is then mixed (man pages
detected as English among German ones, ...), and hybrid queries go by their detected language.

`--alphas 0.1 0.3 0.4:0.1` also runs hybrid with each fusion: α fixed (FusionParams(α, α)), or
`max:min` (FusionParams(max, min)); for a language the model does not know only the keyword-led
α (`min`) counts, for English the whole fusion; to choose α across languages with one ingest.

`--with-english` stores the English set beside each other language's, for one user: a
collection in two languages, where hybrid fusion goes by each query's detected language; rows
`de+en:de` and `de+en:en` score the German and the English queries against it.

`--cache` keeps every vector in `bench/results/multilingual-cache/<model>.npz`, so that a second
run (after a fusion change) does not embed again; its ingest throughput is then not the model's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from bench.common import bench_database, run_interruptible
from bench.embedders import peak_rss_mb
from pgsearch import db
from pgsearch.analysis import SUPPORTED
from pgsearch.embedding import MODEL_LANGUAGES, Embedder, get_embedder
from pgsearch.evaluation import Corpus, CorpusDoc, CorpusQuery, multilingual, subset
from pgsearch.evaluation.service import evaluate, ingest
from pgsearch.models import Chunk
from pgsearch.schemas import SearchMode
from pgsearch.search.params import FusionParams

MODES: tuple[SearchMode, ...] = ("semantic", "keyword", "hybrid")


QUICK_QUERIES, QUICK_DOCS = 100, 250
CACHE_DIR = Path(__file__).parent / "results" / "multilingual-cache"


class CachedEmbedder:
    """`embedder` with its passage and query vectors kept in an .npz file, keyed by text hash."""

    def __init__(self, embedder: Embedder, path: Path) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.path = path
        self.vectors: dict[str, NDArray[np.float32]] = {}
        if path.exists():
            with np.load(path) as saved:
                self.vectors = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))

    def _cached(self, side: str, texts: Sequence[str], embed: Any) -> NDArray[np.float32]:
        keys = [hashlib.sha256(f"{side}\0{t}".encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.vectors]
        if missing:
            new = embed([texts[i] for i in missing])
            for i, row in zip(missing, new, strict=True):
                self.vectors[keys[i]] = row
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._cached("p", texts, self.embedder.embed)

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        embed = getattr(self.embedder, "embed_queries", self.embedder.embed)
        return self._cached("q", texts, embed)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        vectors = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dim))
        np.savez(self.path, keys=np.array(keys), vectors=vectors)


@contextlib.contextmanager
def every_language(model: str) -> Iterator[None]:
    """`model` taken for a model of every language while inside."""
    known = MODEL_LANGUAGES[model]
    MODEL_LANGUAGES[model] = frozenset(SUPPORTED)
    try:
        yield
    finally:
        MODEL_LANGUAGES[model] = known


def run(
    model: str,
    langs: list[multilingual.Language],
    *,
    quick: bool,
    cache: bool = False,
    rule_off: bool = False,
    detect: bool = False,
    alphas: Sequence[str] = (),
    with_english: bool = False,
) -> list[dict[str, Any]]:
    """Ingest each language for its own user and score every mode; one row per language and
    query set."""
    embedder: Embedder = get_embedder(model)
    cached = CachedEmbedder(embedder, CACHE_DIR / f"{model}.npz") if cache else None
    if cached is not None:
        embedder = cached
    rows: list[dict[str, Any]] = []
    # A busy machine (2 cores shared by several benches) once pushed a keyword search past the
    # default 30 s statement timeout; this measures quality, not latency.
    settings = {"DB_STATEMENT_TIMEOUT_MS": "600000", "PGSEARCH_EMBEDDING_MODEL": model}
    off = every_language(embedder.name) if rule_off else contextlib.nullcontext()
    with bench_database(settings), off:
        for lang in langs:
            corpus = _corpus(lang, quick=quick, detect=detect)
            # The query sets run against this user's collection: its own, or (--with-english)
            # its own and the English set's, both sets' documents stored together.
            query_sets: dict[str, tuple[CorpusQuery, ...]] = {lang: corpus.queries}
            if with_english and lang != "en":
                own = _prefixed(corpus, lang)
                english = _prefixed(_corpus("en", quick=quick, detect=detect), "en")
                corpus = replace(own, docs=own.docs + english.docs)
                query_sets = {f"{lang}+en:{lang}": own.queries, f"{lang}+en:en": english.queries}
            with db.get_sessionmaker().begin() as session:
                t0, cpu0 = time.perf_counter(), time.process_time()
                uid = ingest(session, corpus.docs, embedder)
                ingest_s, ingest_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
                n_chunks = session.scalar(select(func.count()).where(Chunk.user_id == uid))
                for label, queries in query_sets.items():
                    row: dict[str, Any] = {
                        "lang": label,
                        "model": embedder.name,
                        "docs": len(corpus.docs),
                        "queries": len(queries),
                        "chunks": n_chunks,
                        "ingest_chunks_per_s": (n_chunks or 0) / ingest_s,
                        # This process's CPU (embedding, analysis; not the database's): on a
                        # shared machine a steadier cost than wall time.
                        "ingest_cpu_ms_per_chunk": 1000 * ingest_cpu_s / max(n_chunks or 0, 1),
                    }
                    for mode in MODES:
                        s = evaluate(session, uid, queries, embedder, mode=mode)
                        row[mode] = {"r1": s.r1, "r5": s.r5, "mrr10": s.mrr10}
                    for alpha in alphas:
                        high, _, low = alpha.partition(":")
                        fusion = FusionParams(alpha_max=float(high), alpha_min=float(low or high))
                        s = evaluate(session, uid, queries, embedder, mode="hybrid", fusion=fusion)
                        row[f"hybrid@{alpha}"] = {"r1": s.r1, "r5": s.r5, "mrr10": s.mrr10}
                    row["peak_rss_mb"] = peak_rss_mb()
                    rows.append(row)
                    _print_row(row)
            if cached is not None:
                cached.save()
    return rows


def _corpus(lang: multilingual.Language, *, quick: bool, detect: bool) -> Corpus:
    """`lang`'s set (--quick: its subset), its documents without their language if `detect`."""
    corpus = multilingual.load(lang)
    if quick:
        corpus = subset(corpus, n_queries=QUICK_QUERIES, n_docs=QUICK_DOCS)
    if detect:
        docs = tuple(
            CorpusDoc(d.id, d.text, {k: v for k, v in d.metadata.items() if k != "lang"})
            for d in corpus.docs
        )
        corpus = replace(corpus, docs=docs)
    return corpus


def _prefixed(corpus: Corpus, prefix: str) -> Corpus:
    """`corpus` with its document ids prefixed (two sets may both have a page called `ls`)."""
    docs = tuple(CorpusDoc(f"{prefix}:{d.id}", d.text, d.metadata) for d in corpus.docs)
    queries = tuple(CorpusQuery(q.text, f"{prefix}:{q.relevant_id}") for q in corpus.queries)
    return replace(corpus, docs=docs, queries=queries)


def _print_row(row: dict[str, Any]) -> None:
    cells = " | ".join(
        f"{row[m]['r1']:.3f} {row[m]['r5']:.3f} {row[m]['mrr10']:.3f}" for m in _modes(row)
    )
    print(
        f"{row['lang']:<3} {row['docs']:>5} docs {row['queries']:>4} q {row['chunks']:>5} chunks "
        f"{row['ingest_chunks_per_s']:6.1f} ch/s {row['ingest_cpu_ms_per_chunk']:5.0f} ms CPU/ch | "
        f"{cells} | peak RSS {row['peak_rss_mb']:.0f} MB",
        flush=True,
    )


def _modes(row: dict[str, Any]) -> list[str]:
    """The modes of `row`, with any fixed-α hybrid runs after the three modes."""
    return [*MODES, *(k for k in row if k.startswith("hybrid@"))]


def print_table(rows: list[dict[str, Any]]) -> None:
    """A markdown table: R@1 / R@5 / MRR@10 per mode and language."""
    modes = _modes(rows[0]) if rows else list(MODES)
    print("\n| language | " + " | ".join(f"{m} R@1 / R@5 / MRR@10" for m in modes) + " |")
    print("|---|" + "---|" * len(modes))
    for row in rows:
        cells = [f"{row[m]['r1']:.3f} / {row[m]['r5']:.3f} / {row[m]['mrr10']:.3f}" for m in modes]
        print(f"| {row['lang']} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm", help="built-in embedding model")
    parser.add_argument("--lang", choices=multilingual.LANGUAGES, action="append")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the first {QUICK_QUERIES} queries of each set among {QUICK_DOCS} documents",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    parser.add_argument("--cache", action="store_true", help="keep the vectors (see above)")
    parser.add_argument("--rule-off", action="store_true", help="no model-language rule")
    parser.add_argument("--detect", action="store_true", help="documents' languages detected")
    parser.add_argument(
        "--with-english", action="store_true", help="each language's user also has the en set"
    )
    parser.add_argument(
        "--alphas", nargs="*", default=[], help="hybrid also with each α or max:min"
    )
    args = parser.parse_args()
    header = " | ".join(f"{m:<8} R@1   R@5   MRR" for m in MODES)
    print(f"model {args.model}\nlang  docs  queries  chunks  ingest | {header}")
    langs = args.lang or list(multilingual.LANGUAGES)
    # SIGTERM and Ctrl-C stop the embedded PostgreSQL and remove its temp dir.
    rows = run_interruptible(
        lambda: run(
            args.model,
            langs,
            quick=args.quick,
            cache=args.cache,
            rule_off=args.rule_off,
            detect=args.detect,
            alphas=args.alphas,
            with_english=args.with_english,
        )
    )
    if rows is None:
        return
    print_table(rows)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
