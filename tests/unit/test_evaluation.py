"""The evaluation corpora and metrics (pure Python, no database)."""

from __future__ import annotations

import unicodedata

import pytest

from pgsearch.evaluation import (
    CorpusQuery,
    Scores,
    load_corpus,
    multilingual,
    score_rankings,
    subset,
)
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


@pytest.mark.parametrize("lang", multilingual.LANGUAGES)
def test_shipped_multilingual_sets_are_consistent(lang: multilingual.Language) -> None:
    corpus = multilingual.load(lang)
    ids = [d.id for d in corpus.docs]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert 500 <= len(ids) <= multilingual.N_DOCS
    assert 250 <= len(corpus.queries) <= multilingual.N_QUERIES
    text = {d.id: d.text for d in corpus.docs}
    for q in corpus.queries:
        assert q.text.casefold() not in text[q.relevant_id].casefold()
    assert len({q.text.casefold() for q in corpus.queries}) == len(corpus.queries)
    assert len({d.text for d in corpus.docs}) == len(ids)


@pytest.mark.parametrize(
    ("lang", "script"),
    [("ko", ("HANGUL",)), ("ja", ("HIRAGANA", "KATAKANA")), ("zh", ("CJK",)), ("de", ("LATIN",))],
)
def test_multilingual_queries_are_written_in_their_language(
    lang: str, script: tuple[str, ...]
) -> None:
    corpus = multilingual.load(lang)
    letters = [ch for q in corpus.queries for ch in q.text if ch.isalpha()]
    share = sum(unicodedata.name(ch, "").startswith(script) for ch in letters) / len(letters)
    assert share > 0.3


def test_multilingual_man_page_sets_answer_queries_with_man_pages() -> None:
    corpus = multilingual.load("de")
    kinds = {d.id: d.metadata["kind"] for d in corpus.docs}
    assert all(kinds[q.relevant_id] == "manpage" for q in corpus.queries)
    assert "package" in kinds.values()  # distractors
    assert all(d.metadata["lang"] == "de" for d in corpus.docs)


def test_unknown_multilingual_set_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        multilingual.load("xx")


def test_subset_keeps_every_relevant_document() -> None:
    corpus = multilingual.load("ko")
    small = subset(corpus, n_queries=150, n_docs=500)
    assert small.queries == corpus.queries[:150]
    ids = [d.id for d in small.docs]
    assert len(ids) == 500 and ids == sorted(ids)
    assert {q.relevant_id for q in small.queries} <= set(ids)
    assert subset(corpus, n_queries=150, n_docs=500) == small
