"""The evaluation corpora and metrics (pure Python, no database)."""

from __future__ import annotations

import pytest

from pgsearch.evaluation import CorpusQuery, Scores, load_corpus, score_rankings
from pgsearch.evaluation.debian import parse_translations, select_sample

TRANSLATIONS = """\
Package: foo
Description-md5: 0
Description-en: Frobnicate widgets quickly
 foo reads widgets and frobnicates them.
 .
 It is fast.

Package: foo-doc
Description-md5: 1
Description-en: documentation for foo widgets
 foo reads widgets and frobnicates them.
 .
 It is fast.
"""


def test_parse_translations_undoes_deb822_markup() -> None:
    records = list(parse_translations(TRANSLATIONS))
    assert records[0] == (
        "foo",
        "Frobnicate widgets quickly",
        "foo reads widgets and frobnicates them.\n\nIt is fast.",
    )
    assert [r[0] for r in records] == ["foo", "foo-doc"]


def test_sample_drops_tiny_quoted_and_shared_descriptions() -> None:
    long = "A long description that says what the package does, " * 3
    records = [
        ("keep", "Tool that does one thing", long + "keep."),
        ("tiny", "Tool that does little", "Too short."),
        ("quoted", "Tool that quotes itself", long + "Tool that quotes itself."),
        ("twin-a", "First twin package here", long + "twin."),
        ("twin-b", "Second twin package here", long + "twin."),
        ("short", "Two words", long + "short."),
    ]
    rows = select_sample(records, n_docs=10, n_queries=10)
    assert rows == [{"id": "keep", "text": long + "keep.", "query": "Tool that does one thing"}]


def test_shipped_debian_corpus_is_consistent() -> None:
    corpus = load_corpus("debian")
    ids = [d.id for d in corpus.docs]
    assert len(ids) == len(set(ids)) == 2500 and ids == sorted(ids)
    assert len(corpus.queries) == 400
    text = {d.id: d.text for d in corpus.docs}
    for q in corpus.queries:
        assert q.text.casefold() not in text[q.relevant_id].casefold()
    assert len({q.text.casefold() for q in corpus.queries}) == len(corpus.queries)


def test_cpython_corpus_queries_point_at_documents() -> None:
    corpus = load_corpus("cpython")
    ids = {d.id for d in corpus.docs}
    assert len(ids) > 150 and all(q.relevant_id in ids for q in corpus.queries)


def test_score_rankings() -> None:
    queries = [CorpusQuery("a", "x"), CorpusQuery("b", "y"), CorpusQuery("c", "z")]
    rankings = [["x", "q"], ["q", "r", "s", "t", "u", "y"], [f"n{i}" for i in range(10)] + ["z"]]
    assert score_rankings(rankings, queries) == Scores(1 / 3, 1 / 3, (1 + 1 / 6) / 3)
    with pytest.raises(ValueError, match="one ranking per query"):
        score_rankings(rankings[:2], queries)
