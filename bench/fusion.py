"""Fusion study: which way of combining semantic and BM25 rankings is never worse than either.

    uv run --group bench python -m bench.fusion              # both corpora, depth 40
    uv run --group bench python -m bench.fusion --depth 100  # each mode contributes 100 documents

Per corpus (`pgsearch.evaluation`: CPython docs, Debian package descriptions) two rankings are
computed outside the service, exactly:
- semantic: the built-in MiniLM over chunks cut like the service cuts them (800 characters,
  100 overlap), cosine similarity; a document scores as its best chunk;
- BM25 (Okapi, k1 1.2, b 0.75, Lucene IDF, via `bm25s`) over the lexemes of PostgreSQL's
  `english` text search config (`to_tsvector` run in a throwaway embedded PostgreSQL), one
  BM25 "document" per chunk as the service will store it; a document scores as its best chunk.
Fusion then sees only each mode's top `--depth` documents, as one SQL statement fed by two
candidate lists would, and is scored by recall@1, recall@5 and MRR@10:
- weighted reciprocal rank fusion, w_s / (k + rank_s) + w_b / (k + rank_b);
- convex combination (Bruch, Gai & Ingber, ACM TOIS 2023), alpha * norm(sem) +
  (1 - alpha) * norm(bm25), with min-max normalisation over each candidate list or theoretical
  min-max (lower bound -1 for cosine, 0 for BM25; the observed maximum above);
- the convex combination with a per-query alpha from how peaked the BM25 scores are.
A document missing from one mode's candidates gets 0 from it. Embeddings and lexemes are cached
under bench/results/ (git-ignored), so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

from bench.common import bench_database
from pgsearch.embedding import get_embedder
from pgsearch.evaluation import CORPUS_NAMES, Corpus, CorpusName, Scores, load_corpus
from pgsearch.ingest.chunking import chunk_text
from pgsearch.models import TEXT_SEARCH_CONFIG
from pgsearch.services.documents import CHUNK_MAX_CHARS, CHUNK_OVERLAP

CACHE_DIR = Path(__file__).parent / "results" / "fusion-cache"
MODEL = "minilm"
K1, B = 1.2, 0.75
COSINE_MIN = -1.0  # theoretical lower bounds of each score, for theoretical min-max
BM25_MIN = 0.0

Array = NDArray[np.float64]


# -- features: chunks, embeddings, lexemes (cached) -----------------------------------------------


@dataclass(frozen=True)
class Features:
    """A corpus cut into chunks, with what both rankings need."""

    corpus: Corpus
    chunk_doc: NDArray[np.intp]  # document index of each chunk
    chunk_vecs: NDArray[np.float32]
    query_vecs: NDArray[np.float32]
    chunk_lexemes: list[list[str]]  # each lexeme repeated by its term frequency
    query_lexemes: list[list[str]]  # distinct lexemes


def features(corpus: Corpus) -> Features:
    """Chunk the corpus, then embed and lexise it, or read both from the cache."""
    chunks: list[str] = []
    chunk_doc: list[int] = []
    for i, doc in enumerate(corpus.docs):
        for c in chunk_text(doc.text, max_chars=CHUNK_MAX_CHARS, overlap=CHUNK_OVERLAP):
            chunks.append(c)
            chunk_doc.append(i)
    queries = [q.text for q in corpus.queries]
    key = hashlib.sha256(json.dumps([MODEL, TEXT_SEARCH_CONFIG, chunks, queries]).encode())
    path = CACHE_DIR / f"{corpus.name}-{key.hexdigest()[:16]}"
    if not (path / "lexemes.json").exists():
        path.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        embedder = get_embedder(MODEL)
        np.save(path / "queries.npy", embedder.embed(queries))
        np.save(path / "chunks.npy", embedder.embed(chunks))
        print(f"{corpus.name}: embedded {len(chunks)} chunks in {time.perf_counter() - t0:.0f} s")
        chunk_lex, query_lex = pg_lexemes(chunks, queries)
        (path / "lexemes.json").write_text(json.dumps({"chunks": chunk_lex, "queries": query_lex}))
    lex = json.loads((path / "lexemes.json").read_text())
    return Features(
        corpus,
        np.array(chunk_doc, dtype=np.intp),
        np.load(path / "chunks.npy"),
        np.load(path / "queries.npy"),
        lex["chunks"],
        [sorted(set(q)) for q in lex["queries"]],
    )


def pg_lexemes(chunks: Sequence[str], queries: Sequence[str]) -> tuple[list[list[str]], ...]:
    """The lexemes `to_tsvector` gives each text, repeated by term frequency."""
    sql = f"""
        SELECT u.ord - 1, x.lexeme, coalesce(array_length(x.positions, 1), 1)
        FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, ord),
             unnest(to_tsvector('{TEXT_SEARCH_CONFIG}', u.t)) AS x
        ORDER BY 1, 2
    """
    out: list[list[list[str]]] = []
    with bench_database() as database, database.connect() as conn:
        for texts in (chunks, queries):
            lexemes: list[list[str]] = [[] for _ in texts]
            for i, lexeme, tf in conn.execute(sql, (list(texts),)):
                lexemes[i].extend([lexeme] * tf)
            out.append(lexemes)
    return out[0], out[1]


# -- the two rankings, per document ---------------------------------------------------------------


def doc_max(chunk_scores: Array, chunk_doc: NDArray[np.intp], n_docs: int) -> Array:
    """(queries, chunks) scores to (queries, documents): a document scores as its best chunk."""
    out = np.full((chunk_scores.shape[0], n_docs), -np.inf)
    for j in range(chunk_scores.shape[1]):
        d = chunk_doc[j]
        np.maximum(out[:, d], chunk_scores[:, j], out=out[:, d])
    return out


def semantic_scores(f: Features) -> Array:
    """Cosine similarity of each query with each document's best chunk."""
    sims = f.query_vecs.astype(np.float64) @ f.chunk_vecs.astype(np.float64).T
    return doc_max(sims, f.chunk_doc, len(f.corpus.docs))


def bm25_scores(f: Features) -> Array:
    """Exact BM25 of each query against each document's best chunk (0 without a match)."""
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    vocab = {t: i for i, t in enumerate(sorted({t for c in f.chunk_lexemes for t in c}))}
    ids = [[vocab[t] for t in c] for c in f.chunk_lexemes]
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    rows = []
    for q in f.query_lexemes:
        known = [vocab[t] for t in q if t in vocab]
        rows.append(retriever.get_scores_from_ids(known) if known else np.zeros(len(ids)))
    return doc_max(np.array(rows, dtype=np.float64), f.chunk_doc, len(f.corpus.docs))


# -- candidates and fusion ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """Per query, the union of both modes' top-`depth` documents, padded to 2 * depth.

    Scores and ranks are NaN where a document is not among that mode's candidates.
    """

    doc: NDArray[np.intp]  # -1 = padding
    sem: Array
    sem_rank: Array  # 1 = best
    bm: Array
    bm_rank: Array
    relevant: NDArray[np.intp]  # document index of each query's answer

    def top(self, fused: Array) -> NDArray[np.intp]:
        """The 10 best document indexes per query under `fused` (higher is better)."""
        fused = np.where(self.doc < 0, -np.inf, np.nan_to_num(fused, nan=-np.inf))
        # Stable on ties by document index, as SQL's ORDER BY score DESC, document_id.
        order = np.lexsort((self.doc, -fused), axis=1)[:, :10]
        return np.take_along_axis(self.doc, order, axis=1)


def top_candidates(scores: Array, depth: int) -> tuple[NDArray[np.intp], Array]:
    """Each query's `depth` best documents (only those that score; -1 pads) and their scores."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    top = np.take_along_axis(scores, order, axis=1)
    keep = np.isfinite(top) & (top > -np.inf)
    return np.where(keep, order, -1), np.where(keep, top, np.nan)


def candidates(sem: Array, bm: Array, relevant: NDArray[np.intp], depth: int) -> Candidates:
    """Each mode's top `depth` documents, joined per query on the document (a full join)."""
    bm = np.where(bm > 0, bm, -np.inf)  # BM25 only returns documents that share a lexeme
    s_doc, s_score = top_candidates(sem, depth)
    b_doc, b_score = top_candidates(bm, depth)
    n_q = sem.shape[0]
    shape = (n_q, 2 * depth)
    doc = np.full(shape, -1, dtype=np.intp)
    out = {name: np.full(shape, np.nan) for name in ("sem", "sem_rank", "bm", "bm_rank")}
    for q in range(n_q):
        slot: dict[int, int] = {}
        for mode, docs, scores in (("sem", s_doc[q], s_score[q]), ("bm", b_doc[q], b_score[q])):
            for rank, (d, s) in enumerate(zip(docs, scores, strict=True), start=1):
                if d < 0:
                    continue
                i = slot.setdefault(int(d), len(slot))
                doc[q, i] = d
                out[mode][q, i] = s
                out[f"{mode}_rank"][q, i] = rank
    return Candidates(doc, out["sem"], out["sem_rank"], out["bm"], out["bm_rank"], relevant)


def score_top(c: Candidates, top: NDArray[np.intp]) -> Scores:
    """Recall@1, recall@5 and MRR@10 of the top-10 document indexes per query."""
    hit = top == c.relevant[:, None]
    pos = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    found = pos >= 0
    return Scores(
        float(np.mean(found & (pos == 0))),
        float(np.mean(found & (pos < 5))),
        float(np.mean(np.where(found, 1 / np.maximum(pos + 1, 1), 0.0))),
    )


def rrf(c: Candidates, *, w_sem: float, w_bm: float, k: float) -> Array:
    """Weighted reciprocal rank fusion; a missing rank contributes nothing."""
    return np.nan_to_num(w_sem / (k + c.sem_rank)) + np.nan_to_num(w_bm / (k + c.bm_rank))


def _minmax(x: Array, low: Array | float) -> Array:
    # Per query: (x - low) / (max - low); a list whose scores are all equal maps to 1.
    high = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=1, keepdims=True)
    span = high - low
    return np.where(span > 0, (x - low) / np.where(span > 0, span, 1), 1.0)


def min_max(x: Array) -> Array:
    """Min-max over each query's candidate list."""
    low = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=1, keepdims=True)
    return _minmax(x, low)


def convex(c: Candidates, alpha: float | Array, norm: str) -> Array:
    """alpha * norm(semantic) + (1 - alpha) * norm(BM25); a missing score contributes 0."""
    if norm == "minmax":
        s, b = min_max(c.sem), min_max(c.bm)
    else:  # theoretical min-max
        s, b = _minmax(c.sem, COSINE_MIN), _minmax(c.bm, BM25_MIN)
    return alpha * np.nan_to_num(s) + (1 - alpha) * np.nan_to_num(b)


def bm25_gap(c: Candidates) -> Array:
    """How peaked BM25 is per query: (top1 - top2) / top1 of its candidate scores, in [0, 1]."""
    b = np.sort(np.nan_to_num(c.bm, nan=0.0), axis=1)[:, ::-1]
    return np.where(b[:, 0] > 0, (b[:, 0] - b[:, 1]) / np.where(b[:, 0] > 0, b[:, 0], 1), 0.0)


def adaptive(c: Candidates, *, hi: float, lo: float, norm: str) -> Array:
    """Convex combination whose alpha falls from `hi` to `lo` as BM25's top score stands out."""
    alpha = hi - (hi - lo) * bm25_gap(c)
    return convex(c, alpha[:, None], norm)


# -- the study ------------------------------------------------------------------------------------


Method = tuple[str, Callable[[Candidates], Array]]


def methods() -> list[Method]:
    """Every fusion function and parameter setting in the grid."""
    out: list[Method] = [
        ("semantic", lambda c: c.sem),
        ("bm25", lambda c: c.bm),
    ]
    for w_bm, k in itertools.product((0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0), (1, 5, 10, 20, 60)):
        out.append((f"rrf 1:{w_bm:g} k={k}", partial(rrf, w_sem=1.0, w_bm=w_bm, k=k)))
    alphas = [round(a, 2) for a in np.arange(0.1, 0.95, 0.05)]
    for norm, a in itertools.product(("minmax", "tmm"), alphas):
        out.append((f"convex {norm} a={a:g}", partial(convex, alpha=a, norm=norm)))
    for norm, hi, lo in itertools.product(("minmax", "tmm"), alphas, alphas):
        if lo < hi:
            label = f"adaptive {norm} a={hi:g}->{lo:g}"
            out.append((label, partial(adaptive, hi=hi, lo=lo, norm=norm)))
    return out


# The proposed default (see the README): alpha = 0.9 - 0.7 * gap over min-max scores.
DEFAULT = "adaptive minmax a=0.9->0.2"
DEFAULT_HI, DEFAULT_LO = 0.9, 0.2
# The same fusion as one SQL statement over the two candidate lists, as the service's hybrid
# query would run it after its semantic and BM25 candidate CTEs; --sql-check compares the two.
DEFAULT_SQL = """
WITH sem AS (SELECT * FROM unnest(%(sem_doc)s::bigint[], %(sem)s::float8[]) AS t(document_id, s)),
kw AS (SELECT * FROM unnest(%(bm_doc)s::bigint[], %(bm)s::float8[]) AS t(document_id, b)),
sem_n AS (
  SELECT document_id,
         coalesce((s - min(s) OVER ()) / nullif(max(s) OVER () - min(s) OVER (), 0), 1) AS sn
  FROM sem),
kw_n AS (
  SELECT document_id, b, row_number() OVER (ORDER BY b DESC) AS r,
         coalesce((b - min(b) OVER ()) / nullif(max(b) OVER () - min(b) OVER (), 0), 1) AS bn
  FROM kw),
alpha AS (
  SELECT %(hi)s - (%(hi)s - %(lo)s) * coalesce(
           (max(b) - coalesce(max(b) FILTER (WHERE r = 2), 0)) / nullif(max(b), 0), 0) AS a
  FROM kw_n)
SELECT document_id FROM sem_n FULL JOIN kw_n USING (document_id) CROSS JOIN alpha
ORDER BY a * coalesce(sn, 0) + (1 - a) * coalesce(bn, 0) DESC, document_id
LIMIT 10
"""
TODAY = "rrf 1:0.2 k=5"  # the service's hybrid defaults, for comparison


def sql_agreement(c: Candidates) -> int:
    """How many queries get the same top 10 from DEFAULT_SQL as from `adaptive` here."""
    expected = c.top(adaptive(c, hi=DEFAULT_HI, lo=DEFAULT_LO, norm="minmax"))
    same = 0
    with bench_database() as database, database.connect() as conn:
        for q in range(len(c.doc)):
            sem, bm = ~np.isnan(c.sem[q]), ~np.isnan(c.bm[q])
            params = {
                "sem_doc": c.doc[q][sem].tolist(),
                "sem": c.sem[q][sem].tolist(),
                "bm_doc": c.doc[q][bm].tolist(),
                "bm": c.bm[q][bm].tolist(),
                "hi": DEFAULT_HI,
                "lo": DEFAULT_LO,
            }
            got = [row[0] for row in conn.execute(DEFAULT_SQL, params)]
            same += got == [d for d in expected[q].tolist() if d >= 0]
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=40, help="documents per mode (default 40)")
    parser.add_argument(
        "--also-depths", default="20,60,100", help="more depths to check (comma-separated)"
    )
    parser.add_argument("--corpus", choices=CORPUS_NAMES, action="append")
    parser.add_argument("--show", type=int, default=15, help="best settings to list")
    parser.add_argument("--sql-check", action="store_true", help="run the default's SQL form too")
    args = parser.parse_args()
    names: list[CorpusName] = args.corpus or list(CORPUS_NAMES)
    depths = [args.depth, *(int(d) for d in args.also_depths.split(",") if d)]
    grid = methods()
    by_depth: dict[int, dict[str, dict[str, Scores]]] = {d: {} for d in depths}
    for name in names:
        corpus = load_corpus(name)
        f = features(corpus)
        position = {d.id: i for i, d in enumerate(corpus.docs)}
        relevant = np.array([position[q.relevant_id] for q in corpus.queries], dtype=np.intp)
        sem, bm = semantic_scores(f), bm25_scores(f)
        print(
            f"{name}: {len(corpus.docs)} documents, {len(f.chunk_doc)} chunks, "
            f"{len(corpus.queries)} queries"
        )
        for depth in depths:
            c = candidates(sem, bm, relevant, depth)
            by_depth[depth][name] = {label: score_top(c, c.top(fn(c))) for label, fn in grid}
            if args.sql_check and depth == args.depth:
                print(f"  SQL form of the default: same top 10 for {sql_agreement(c)}/{len(c.doc)}")
    print(f"\nEach mode contributes its top {args.depth} documents.")
    report(by_depth[args.depth], names, args.show)
    print("\nWorst margin over the better single mode at each depth:")
    print("| method | " + " | ".join(f"depth {d}" for d in depths) + " |")
    print("|---" * (1 + len(depths)) + "|")
    everywhere = [lb for lb, _ in grid if all(margin(by_depth[d], names, lb) >= 0 for d in depths)]
    for lb in [DEFAULT, TODAY, *(lb for lb in everywhere if lb != DEFAULT)]:
        cells = " | ".join(f"{margin(by_depth[d], names, lb):+.3f}" for d in depths)
        print(f"| {lb} | {cells} |")
    print(f"{len(everywhere)} of {len(grid)} settings are >= the better mode at every depth.")


def margin(results: dict[str, dict[str, Scores]], names: Sequence[str], label: str) -> float:
    """The worst shortfall (negative) or lead over the better single mode, any corpus/metric."""
    worst = np.inf
    for name in names:
        r, s, b = results[name][label], results[name]["semantic"], results[name]["bm25"]
        for m in ("r1", "r5", "mrr10"):
            worst = min(worst, getattr(r, m) - max(getattr(s, m), getattr(b, m)))
    return float(worst)


def report(results: dict[str, dict[str, Scores]], names: Sequence[str], show: int) -> None:
    """Single modes, the best settings by worst margin, and the best of each family."""
    labels = list(results[names[0]])
    ranked = sorted(labels, key=lambda lb: -margin(results, names, lb))
    families: dict[str, str] = {}
    for lb in ranked:
        fam = " ".join(lb.split()[:2]) if lb.startswith(("convex", "adaptive")) else lb.split()[0]
        families.setdefault(fam, lb)
    rows = ["semantic", "bm25", DEFAULT, TODAY, *(lb for lb in ranked[:show] if lb != DEFAULT)]
    rows += [lb for lb in families.values() if lb not in rows]
    head = " | ".join(f"{n} R@1 | {n} R@5 | {n} MRR@10" for n in names)
    print(f"\n| method | {head} | worst margin |")
    print("|---" * (1 + 3 * len(names)) + "|---|")
    for lb in rows:
        cells = " | ".join(
            f"{s.r1:.3f} | {s.r5:.3f} | {s.mrr10:.3f}" for s in (results[n][lb] for n in names)
        )
        print(f"| {lb} | {cells} | {margin(results, names, lb):+.3f} |")


if __name__ == "__main__":
    main()
