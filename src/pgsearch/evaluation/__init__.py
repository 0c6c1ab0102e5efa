"""Retrieval evaluation sets built from text that ships offline, and the metrics to score them.

Each corpus is a `Corpus(docs, queries)`; every query has exactly one relevant document:
- `cpython`: CPython's own documentation (pydoc topics, stdlib module docstrings), read from the
  running interpreter; natural-language queries, where meaning matters more than words.
- `debian`: Debian package descriptions (query = the one-line synopsis, document = the long
  description), shipped as a data file; names, identifiers and terms matter.
- `multilingual`: one set per language (ko, ja, zh from translated Debian package descriptions;
  de, fr, es from translated man pages; en, the English originals, as the reference), loaded with
  `multilingual.load(lang)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

CorpusName = Literal["cpython", "debian"]
CORPUS_NAMES: tuple[CorpusName, ...] = ("cpython", "debian")


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    """One document, with the external id the service stores it under."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class CorpusQuery:
    """One query and the id of the single document that answers it."""

    text: str
    relevant_id: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """Documents (sorted by id) and queries (in document order)."""

    name: str
    docs: tuple[CorpusDoc, ...]
    queries: tuple[CorpusQuery, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    """Recall@1, recall@5 and MRR@10 over a query set."""

    r1: float
    r5: float
    mrr10: float


def subset(corpus: Corpus, *, n_queries: int, n_docs: int) -> Corpus:
    """The first `n_queries` queries, their documents and others (by a hash of their id) up to
    `n_docs` documents: a smaller, still deterministic, version of the same task."""
    queries = corpus.queries[:n_queries]
    relevant = {q.relevant_id for q in queries}
    others = sorted(
        (d for d in corpus.docs if d.id not in relevant),
        key=lambda d: hashlib.sha256(d.id.encode()).hexdigest(),
    )[: max(0, n_docs - len(relevant))]
    keep = relevant | {d.id for d in others}
    docs = tuple(d for d in corpus.docs if d.id in keep)
    return replace(corpus, docs=docs, queries=queries)


def load_corpus(name: CorpusName = "cpython") -> Corpus:
    """The evaluation corpus called `name`."""
    if name == "cpython":
        from pgsearch.evaluation import cpython

        return cpython.load()
    if name == "debian":
        from pgsearch.evaluation import debian

        return debian.load()
    raise ValueError(f"unknown corpus {name!r}; choose from {', '.join(CORPUS_NAMES)}")


def rank_of(ranked_ids: Sequence[str], relevant_id: str) -> int | None:
    """The 0-based position of `relevant_id` in a ranking, or None when it is missing."""
    try:
        return list(ranked_ids).index(relevant_id)
    except ValueError:
        return None


def score_rankings(rankings: Sequence[Sequence[str]], queries: Sequence[CorpusQuery]) -> Scores:
    """Recall@1, recall@5 and MRR@10 of one ranking of document ids per query."""
    if len(rankings) != len(queries) or not queries:
        raise ValueError("need one ranking per query, and at least one query")
    r1 = r5 = mrr = 0.0
    for ranked, query in zip(rankings, queries, strict=True):
        pos = rank_of(ranked[:10], query.relevant_id)
        if pos is not None:
            r1 += pos == 0
            r5 += pos < 5
            mrr += 1 / (pos + 1)
    n = len(queries)
    return Scores(r1 / n, r5 / n, mrr / n)
