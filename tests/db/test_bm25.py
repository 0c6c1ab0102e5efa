"""BM25 keyword search: exact scores, per-user statistics, writes that keep them exact, the
certified top k and its fallback, the backfill migration, and queries with nothing to match."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, select, text

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.migrations import alembic_config
from pgsearch.schemas import DocumentCreate, SearchRequest
from pgsearch.search import bm25
from pgsearch.search import query as query_sql
from pgsearch.search.bm25 import FUSION_PER_TERM, FUSION_RESCORE, Bm25Params
from pgsearch.services.documents import store_documents
from pgsearch.services.startup import prepare_database
from tests.helpers import (
    executed_statements,
    make_user,
    new_database,
    run_concurrently,
    service_search,
    unit,
    vec_doc,
)

# Words that are their own English lexemes (no stemming, no stop words), so the expected
# scores can be worked out from the words themselves.
CORPUS = {
    "a": "cat dog",
    "b": "cat cat fish",
    "c": "dog bird bird bird",
    "d": "fish",
    "e": "owl owl owl owl owl owl owl owl cat",
}


def okapi(
    docs: dict[str, list[str]], query: list[str], *, k1: float = 1.2, b: float = 0.75
) -> dict[str, float]:
    """Textbook Okapi BM25 (Lucene's non-negative IDF), written out independently."""
    n = len(docs)
    avgdl = sum(len(words) for words in docs.values()) / n
    scores: dict[str, float] = {}
    for name, words in docs.items():
        tf = Counter(words)
        score = 0.0
        for term in set(query):
            if tf[term] == 0:
                continue
            df = sum(1 for w in docs.values() if term in w)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            norm = 1 - b + b * len(words) / avgdl
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * norm)
        if score > 0:
            scores[name] = score
    return scores


def post_docs(client: TestClient, uid: int, docs: dict[str, str]) -> None:
    body = [vec_doc(t, unit(i % 300), external_id=name) for i, (name, t) in enumerate(docs.items())]
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": body})
    assert r.status_code == 200, r.text[:300]


def keyword(client: TestClient, uid: int, query: str, **extra: Any) -> dict[str, float]:
    r = client.post(
        f"/users/{uid}/search", json={"query": query, "mode": "keyword", "k": 100, **extra}
    )
    assert r.status_code == 200, r.text[:300]
    return {h["external_id"]: h["score"] for h in r.json()["results"]}


def assert_scores(found: dict[str, float], expected: dict[str, float]) -> None:
    assert found.keys() == expected.keys()
    for name, score in expected.items():
        assert found[name] == pytest.approx(score, rel=1e-9), name
    # And in order, best first.
    assert list(found) == sorted(expected, key=lambda n: (-expected[n], list(found).index(n)))


def words(docs: dict[str, str]) -> dict[str, list[str]]:
    return {name: t.split() for name, t in docs.items()}


@pytest.mark.parametrize("query", ["cat", "cat fish", "bird owl dog", "cat cat dog zebra"])
def test_scores_are_textbook_bm25(client: TestClient, query: str) -> None:
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    assert_scores(keyword(client, uid, query), okapi(words(CORPUS), query.split()))


def test_scores_follow_configured_k1_and_b(client: TestClient, settings_env: Any) -> None:
    settings_env(PGSEARCH_BM25_K1="2.0", PGSEARCH_BM25_B="0.3")
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    expected = okapi(words(CORPUS), ["cat", "owl"], k1=2.0, b=0.3)
    assert_scores(keyword(client, uid, "cat owl"), expected)


def test_new_k1_and_b_take_effect_at_start(client: TestClient, settings_env: Any) -> None:
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    settings_env(PGSEARCH_BM25_K1="2.0", PGSEARCH_BM25_B="0.3")
    expected = okapi(words(CORPUS), ["cat", "owl"], k1=2, b=0.3)
    # Scores are exact at once; the top k is certified again once the start re-made impacts.
    assert_scores(keyword(client, uid, "cat owl"), expected)
    # One posting read per term: the top 1 is certified only by impacts made with these k1, b.
    params = replace(Bm25Params.from_settings(), per_term=1, rescore=2)
    assert not first_round_complete(uid, "cat", k=1, params=params)
    prepare_database()
    assert first_round_complete(uid, "cat", k=1, params=params)
    assert_scores(keyword(client, uid, "cat owl"), expected)


def test_scores_use_current_statistics_as_the_corpus_grows(client: TestClient) -> None:
    uid = make_user(client)
    corpus: dict[str, str] = {}
    for name, t in CORPUS.items():  # one document at a time: avgdl, N and df all move
        corpus[name] = t
        post_docs(client, uid, {name: t})
        assert_scores(keyword(client, uid, "cat dog"), okapi(words(corpus), ["cat", "dog"]))


def test_one_users_documents_never_change_anothers_scores(client: TestClient) -> None:
    a, b = make_user(client, "a"), make_user(client, "b")
    post_docs(client, a, CORPUS)
    before = keyword(client, a, "cat dog fish")
    post_docs(client, b, {f"b{i}": "cat cat cat dog " + "filler " * i for i in range(30)})
    assert keyword(client, a, "cat dog fish") == before
    assert keyword(client, b, "owl") == {}  # user a's owl is not b's


# -- statistics equal a recount after every kind of write ---------------------------------------

RECOUNT = {
    "stats": (
        "SELECT user_id, chunks, length FROM bm25_stats ORDER BY 1",
        # Independent of bm25_terms(): straight from the chunks' tsvectors.
        """SELECT c.user_id, count(*), sum(l.n) FROM chunks c
           CROSS JOIN LATERAL (SELECT coalesce(sum(cardinality(positions)), 0) AS n
                               FROM unnest(c.tsv)) l
           GROUP BY 1 ORDER BY 1""",
    ),
    "df": (
        "SELECT user_id, term, df FROM bm25_df ORDER BY 1, 2",
        """SELECT c.user_id, hashtextextended(u.lexeme, 0), count(*)
           FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    "postings": (
        "SELECT chunk_id, user_id, term, tf FROM bm25_postings ORDER BY 1, 3",
        """SELECT c.id, c.user_id, hashtextextended(u.lexeme, 0), cardinality(u.positions)
           FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u ORDER BY 1, 3""",
    ),
}


def assert_statistics_exact() -> None:
    with db.get_engine().connect() as conn:
        for name, (stored, recount) in RECOUNT.items():
            assert conn.execute(text(stored)).all() == conn.execute(text(recount)).all(), name


def test_statistics_equal_a_recount_after_every_write(client: TestClient) -> None:
    a, b = make_user(client, "a"), make_user(client, "b")
    docs = [
        vec_doc(
            f"report {i} on cats and dogs, " + "bird " * (i % 4),
            unit(i),
            external_id=f"d{i}",
            metadata={"odd": i % 2},
        )
        for i in range(12)
    ]
    for uid in (a, b):
        assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).is_success
        for i in range(3):  # multi-chunk documents, through the built-in chunker
            r = client.post(
                f"/users/{uid}/documents",
                json={"text": "long fish story. " * 200, "external_id": f"long{i}"},
            )
            assert r.is_success, r.text[:200]
    assert_statistics_exact()
    assert client.post(f"/users/{a}/documents/batch", json={"documents": docs}).is_success
    assert_statistics_exact()  # re-ingest: unchanged
    replaced = [vec_doc("replaced text about owls", unit(1), external_id="d1")]
    assert client.post(f"/users/{a}/documents/batch", json={"documents": replaced}).is_success
    assert_statistics_exact()
    doc = client.get(f"/users/{a}/documents", params={"limit": 1}).json()["documents"][0]
    assert client.delete(f"/users/{a}/documents/{doc['id']}").status_code == 204
    assert_statistics_exact()
    r = client.post(f"/users/{b}/documents/delete", json={"filter": {"odd": 1}})
    assert r.status_code == 200 and r.json()["deleted"] == 6, r.text
    assert_statistics_exact()
    assert client.delete(f"/users/{b}").status_code == 204
    assert_statistics_exact()
    with db.get_engine().connect() as conn:
        for table in ("bm25_postings", "bm25_df", "bm25_stats"):
            left = conn.scalar(text(f"SELECT count(*) FROM {table} WHERE user_id = :b"), {"b": b})
            assert left == 0, table
    # User a's keyword search still sees exactly its remaining documents.
    assert "d1" in keyword(client, a, "owls")


@pytest.mark.parametrize("statement", ["TRUNCATE chunks", "TRUNCATE documents CASCADE"])
def test_truncate_empties_the_statistics_with_the_chunks(
    client: TestClient, statement: str
) -> None:
    uid = make_user(client)
    docs = [vec_doc(f"note {i} on owls", unit(i), external_id=f"d{i}") for i in range(5)]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).is_success
    with db.get_engine().begin() as conn:
        conn.execute(text(statement))
    assert_statistics_exact()
    # Stored again (new text: after `TRUNCATE chunks` the documents remain), the documents
    # are scored with fresh statistics.
    again = [vec_doc(f"new note {i} on owls", unit(i), external_id=f"d{i}") for i in range(2)]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": again}).is_success
    assert_statistics_exact()
    assert sorted(keyword(client, uid, "owls")) == ["d0", "d1"]


def test_concurrent_writers_of_one_user_keep_statistics_exact(client: TestClient) -> None:
    uid = make_user(client)
    embedder = get_embedder("minilm")

    def writer(w: int) -> None:
        for batch in range(4):
            docs = [
                DocumentCreate(
                    text=f"shared words cat dog {w} {batch} {i} " + "fish " * i,
                    external_id=f"{(w + batch + i) % 10}",  # writers replace each other's
                    chunks=[{"text": f"cat dog {w} {i} " + "owl " * i, "embedding": unit(i)}],
                )
                for i in range(6)
            ]
            with db.get_sessionmaker().begin() as session:
                store_documents(
                    session, user_id=uid, docs=docs, embedder=embedder, dim=embedder.dim
                )

    assert run_concurrently(writer, 4) == []
    assert_statistics_exact()


# -- the certified top k, its fallback, and k documents from long documents ---------------------


def run_keyword(
    uid: int, query: str, *, k: int = 10, params: Bm25Params, flt: dict[str, Any] | None = None
) -> list[tuple[str, float]]:
    request = SearchRequest(query=query, mode="keyword", k=k, filter=flt)
    with db.get_read_sessionmaker()() as session:
        return service_search(session, uid, request, params)


def first_round_complete(uid: int, query: str, *, k: int, params: Bm25Params) -> bool:
    with db.get_engine().connect() as conn:
        rows = conn.execute(
            query_sql.statement("keyword"),
            query_sql.search_params(user_id=uid, k=k, query=query, bm25_params=params),
        ).all()
    return bool(rows and rows[0].complete)


def test_top_postings_fall_back_to_every_match_when_not_certified(client: TestClient) -> None:
    uid = make_user(client)
    # Many documents with "cat"; the best "cat dog" documents are not among the top postings of
    # either word alone when only 2 per term are read.
    docs = {f"c{i}": "cat " * (1 + i % 5) + "filler " * (i % 7) for i in range(40)}
    docs |= {f"g{i}": "dog " * (1 + i % 3) + "filler " * (i % 5) for i in range(40)}
    docs |= {"both1": "cat dog filler filler", "both2": "cat dog"}
    post_docs(client, uid, docs)
    expected = okapi(words(docs), ["cat", "dog"])
    ranking = sorted(expected.items(), key=lambda kv: -kv[1])
    assert {"both1", "both2"} <= {name for name, _ in ranking[:3]}
    # Reading 2 postings per term cannot show the top 10 (too few chunks re-scored) nor the
    # top 3 (re-scored, but the bound of the unread chunks is above the 3rd score).
    for k, narrow in (
        (10, Bm25Params(per_term=2, rescore=3)),
        (3, Bm25Params(per_term=2, rescore=4)),
    ):
        assert not first_round_complete(uid, "cat dog", k=k, params=narrow)
        assert first_round_complete(uid, "cat dog", k=k, params=Bm25Params())
        for params in (narrow, Bm25Params()):
            found = run_keyword(uid, "cat dog", k=k, params=params)
            assert [name for name, _ in found] == [name for name, _ in ranking[:k]]
            assert [s for _, s in found] == pytest.approx([s for _, s in ranking[:k]], rel=1e-9)


# 20 documents of "cat" (1-5 times), 20 of "dog" (1-3 times), one of both.
CATS_AND_DOGS = {
    **{f"c{i}": "cat " * (1 + i % 5) for i in range(20)},
    **{f"g{i}": "dog " * (1 + i % 3) for i in range(20)},
    "both": "cat dog",
}


def test_approximate_keyword_search_skips_the_fallback(client: TestClient) -> None:
    uid = make_user(client)
    post_docs(client, uid, CATS_AND_DOGS)
    narrow = Bm25Params(per_term=2, rescore=4)
    exact = run_keyword(uid, "cat dog", k=3, params=narrow)
    assert exact[0][0] == "both"
    approximate = run_keyword(uid, "cat dog", k=3, params=replace(narrow, exact=False))
    assert len(approximate) == 3 and "both" not in {name for name, _ in approximate}


def test_exhaustive_fallback_only_up_to_its_cost(client: TestClient) -> None:
    """An uncertified top k is made exact when scoring every match reads at most
    `exhaustive_max` postings (Σ df of the query's terms); above, it is returned as found,
    with exact scores."""
    uid = make_user(client)
    post_docs(client, uid, CATS_AND_DOGS)
    expected = okapi(words(CATS_AND_DOGS), ["cat", "dog"])
    matches = 2 * 21  # postings of "cat" and of "dog"
    exact = sorted(expected.items(), key=lambda kv: -kv[1])[:3]
    for exhaustive_max, certified_or_exhaustive in ((matches, True), (matches - 1, False)):
        narrow = Bm25Params(per_term=2, rescore=4, exhaustive_max=exhaustive_max)
        found = run_keyword(uid, "cat dog", k=3, params=narrow)
        assert len(found) == 3
        # Whatever was found carries its exact score.
        assert [s for _, s in found] == pytest.approx([expected[n] for n, _ in found], rel=1e-9)
        scores = [s for _, s in found]
        assert (scores == pytest.approx([s for _, s in exact], rel=1e-9)) == certified_or_exhaustive
        assert ("both" in {name for name, _ in found}) == certified_or_exhaustive


def test_rescore_reads_the_query_terms_of_each_chunk(client: TestClient) -> None:
    """The first statement's exact re-score takes each query term's tf from the chunk's own
    lexemes, also for a term whose top postings it is missing from, and no other lexeme."""
    uid = make_user(client)
    # Two "dog" postings read: d1 and d2 (a term in every chunk is read to a fifth of the
    # depth of the rarest, "cat"). The "cat" documents hold "dog" too (fewer times), and
    # "bird", which must not count.
    docs = {"d1": "dog dog dog", "d2": "dog dog"}
    docs |= {f"c{i}": "cat " * (3 - i % 3) + "dog " + "bird " * i for i in range(6)}
    post_docs(client, uid, docs)
    expected = okapi(words(docs), ["cat", "dog"])
    params = Bm25Params(per_term=10, rescore=10)
    with db.get_engine().connect() as conn:
        rows = conn.execute(
            query_sql.statement("keyword"),
            query_sql.search_params(user_id=uid, k=10, query="cat dog", bm25_params=params),
        ).all()
    found = {r.external_id: r.score for r in rows}
    assert {"d1", "d2", "c0"} <= found.keys()  # c0: read for "cat" only
    for name, score in found.items():
        assert score == pytest.approx(expected[name], rel=1e-9), name


def test_terms_of_each_scored_chunk_are_read_inline(client: TestClient) -> None:
    """`bm25_terms` is inlined into the keyword statement (a call per scored chunk through
    the SQL function executor cost most of a query): no function scan of it in the plan."""
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    stmt = query_sql.statement("keyword")
    with db.get_engine().connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        values = query_sql.search_params(user_id=uid, k=3, query="cat dog")
        plan = "\n".join(
            row[0]
            for row in conn.exec_driver_sql(
                "EXPLAIN " + str(compiled), {**compiled.params, **values}
            )
        )
    assert "Function Scan on unnest" in plan  # the inlined body
    assert "Function Scan on bm25_terms" not in plan


def test_each_term_is_read_to_a_depth_in_proportion_to_its_idf(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rarest query term gets `per_term` postings; a frequent one fewer, down to a floor;
    a user larger than the reference size more, by the square root of the ratio."""
    uid = make_user(client)
    docs = {f"c{i}": f"cat number {i}" for i in range(30)}
    docs |= {"z1": "zebra cat", "z2": "zebra", "o1": "owl cat"}
    post_docs(client, uid, docs)
    n = len(docs)
    idf = {df: math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in (2, 1, 32)}
    terms = bm25._query_terms(bm25._stats(), cut=True)
    values = query_sql.search_params(
        user_id=uid, k=10, query="zebra owl cat", bm25_params=Bm25Params(per_term=100)
    )
    with db.get_engine().connect() as conn:
        depth = {df: d for df, d in conn.execute(select(terms.c.df, terms.c.depth), values)}
    assert depth[1] == 100  # owl, the rarest
    assert depth[2] == math.ceil(100 * idf[2] / idf[1])  # zebra
    assert depth[32] == 100 * bm25.DEPTH_FLOOR  # cat: in almost every chunk
    monkeypatch.setattr(bm25, "DEPTH_REFERENCE_CHUNKS", n / 4)  # 4x the reference: 2x deeper
    terms = bm25._query_terms(bm25._stats(), cut=True)
    with db.get_engine().connect() as conn:
        depth = {df: d for df, d in conn.execute(select(terms.c.df, terms.c.depth), values)}
    assert depth[1] == 200
    assert depth[32] == 200 * bm25.DEPTH_FLOOR


def test_certified_top_k_is_exact_with_pruned_rescoring(client: TestClient) -> None:
    """The first statement scores the best quarter of the chosen chunks, then only those of
    the rest whose bound reaches the k-th document so far. Its certified top k is exact, also
    when the best documents are not among the highest bounds."""
    uid = make_user(client)
    # "cat dog": documents with one word many times have the highest bounds (their high
    # impact plus the cut of the other list), the "top" ones the highest scores.
    docs = {f"top{i}": "cat cat cat dog dog dog" for i in range(3)}
    docs |= {f"cats{i}": "cat cat cat cat cat cat" for i in range(6)}
    docs |= {f"dogs{i}": "dog dog dog dog dog dog" for i in range(6)}
    docs |= {f"mid{i}": "cat cat dog dog" + " filler" * (i % 3) for i in range(20)}
    post_docs(client, uid, docs)
    params = Bm25Params(per_term=12, rescore=24)
    for query in ("cat dog", "cat"):
        expected = okapi(words(docs), query.split())
        with db.get_engine().connect() as conn:
            rows = conn.execute(
                query_sql.statement("keyword"),
                query_sql.search_params(user_id=uid, k=3, query=query, bm25_params=params),
            ).all()
        assert rows and rows[0].complete, query
        best = sorted(expected.values(), reverse=True)[:3]
        assert [r.score for r in rows] == pytest.approx(best, rel=1e-9), query
        for r in rows:
            assert r.score == pytest.approx(expected[r.external_id], rel=1e-9)
    assert {r.external_id for r in rows} <= {f"cats{i}" for i in range(6)}


def long_documents(count: int, *, chunks: int, word: str) -> list[dict[str, Any]]:
    """Documents of many chunks each; chunk vectors and texts make a few documents dominate."""
    docs = []
    for d in range(count):
        parts: list[dict[str, Any]] = [
            {
                "text": f"{word} " * (1 + (count - d)) + f"part {c}",
                # Earlier documents are nearer to unit(0), with all their chunks.
                "embedding": [1.0, 0.1 * d + 0.001 * c] + [0.0] * 382,
            }
            for c in range(chunks)
        ]
        docs.append(
            {
                "text": " ".join(p["text"] for p in parts),
                "chunks": parts,
                "external_id": f"doc{d}",
                "metadata": {"selected": d % 3 == 0},
            }
        )
    return docs


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_k_documents_from_long_documents_with_and_without_filter(
    client: TestClient, mode: str
) -> None:
    uid = make_user(client)
    docs = long_documents(27, chunks=30, word="zebra")
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    assert r.status_code == 200, r.text[:300]
    body: dict[str, Any] = {"mode": mode, "k": 10}
    if mode != "semantic":
        body["query"] = "zebra"
    if mode != "keyword":
        body["vector"] = [1.0, 0.0] + [0.0] * 382
    # Repeated on one pooled connection: psycopg prepares statements from the 6th run on.
    for _ in range(8):
        found = client.post(f"/users/{uid}/search", json=body).json()["results"]
        assert len({h["document_id"] for h in found}) == len(found) == 10
        found = client.post(
            f"/users/{uid}/search", json={**body, "filter": {"selected": True}}
        ).json()["results"]
        assert len(found) == 9  # every matching document, each once
        assert {h["external_id"] for h in found} == {f"doc{d}" for d in range(0, 27, 3)}


# -- the backfill migration --------------------------------------------------------------------


@pytest.fixture
def database_at_0003(pg_config: DatabaseConfig) -> Iterator[Engine]:
    """A new database migrated to revision 0003, holding two users' documents."""
    engine = create_engine(new_database(pg_config, "bm25_backfill").sync_db_url())
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            command.upgrade(alembic_config(conn), "0003")
            conn.execute(text("INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b')"))
            for i, (name_, words_) in enumerate(CORPUS.items()):
                for uid in (1, 2):
                    conn.execute(
                        text(
                            "WITH d AS (INSERT INTO documents"
                            " (user_id, external_id, text, content_hash, chunk_count)"
                            " VALUES (:u, :x, :t, 'h', 1) RETURNING id)"
                            " INSERT INTO chunks"
                            " (document_id, user_id, chunk_index, text, embedding)"
                            " SELECT id, :u, 0, :t, '[1,2,3]' FROM d"
                        ),
                        # User 2 holds each text twice over, so its statistics differ.
                        {
                            "u": uid,
                            "x": name_,
                            "t": words_ if uid == 1 else f"{words_} {words_} {i}",
                        },
                    )
        yield engine
    finally:
        engine.dispose()


def test_migration_backfills_postings_and_statistics(database_at_0003: Engine) -> None:
    with database_at_0003.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with database_at_0003.connect() as conn:
        check_backfill(conn)


def check_backfill(conn: Connection) -> None:
    for name, (stored, recount) in RECOUNT.items():
        assert conn.execute(text(stored)).all() == conn.execute(text(recount)).all(), name
    rows = conn.execute(
        query_sql.statement("keyword"),
        query_sql.search_params(user_id=1, k=10, query="cat fish", bm25_params=Bm25Params()),
    ).all()
    found = {r.external_id: r.score for r in rows}
    assert_scores(found, okapi(words(CORPUS), ["cat", "fish"]))
    assert rows[0].complete
    # And the triggers work from then on.
    conn.rollback()
    with conn.begin():
        conn.execute(text("DELETE FROM documents WHERE user_id = 2 AND external_id = 'a'"))
    for name, (stored, recount) in RECOUNT.items():
        assert conn.execute(text(stored)).all() == conn.execute(text(recount)).all(), name


# -- queries with nothing to match -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
@pytest.mark.parametrize("query", ["the and of to", "!!! ... ??? ---", "   ;;; "])
def test_queries_without_terms_find_nothing_by_keyword(
    client: TestClient, mode: str, query: str
) -> None:
    uid = make_user(client)
    post_docs(client, uid, CORPUS | {"stop": "the and of to"})
    r = client.post(f"/users/{uid}/search", json={"query": query, "mode": mode})
    if not query.strip(" ;"):
        assert r.status_code in (200, 422)
        return
    assert r.status_code == 200, r.text[:300]
    if mode == "keyword":
        assert r.json()["results"] == []
    else:  # hybrid: the semantic side still ranks every document
        assert len(r.json()["results"]) == len(CORPUS) + 1


@pytest.mark.parametrize("query", ["cat " * 2_500, "cat\x00dog", "x" * 10_000, "cat" + "\ud800"])
def test_unusable_queries_are_4xx(client: TestClient, query: str) -> None:
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    body = json.dumps({"query": query, "mode": "keyword"})  # ASCII: lone surrogates escaped
    r = client.post(
        f"/users/{uid}/search", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text[:300]
    assert "query" in r.text


def test_long_queries_within_the_limit_work(client: TestClient) -> None:
    uid = make_user(client)
    post_docs(client, uid, CORPUS)
    long_query = " ".join(["cat", "owl"] * 400 + [f"w{i}" for i in range(300)])[:2_000]
    found = keyword(client, uid, long_query)
    assert_scores(found, okapi(words(CORPUS), ["cat", "owl"]))


def test_hybrid_reads_fewer_postings_than_keyword(client: TestClient) -> None:
    """Fusion needs BM25's best documents only: hybrid uses the smaller top-postings sizes."""
    uid = make_user(client)
    docs = [vec_doc(f"owls and cats {i}", unit(i), external_id=str(i)) for i in range(5)]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    with executed_statements() as executed:
        for mode in ("keyword", "hybrid"):
            body = {"query": "owls", "vector": unit(0), "mode": mode}
            assert client.post(f"/users/{uid}/search", json=body).status_code == 200
    sizes = [(p["bm25_per_term"], p["bm25_rescore"]) for _, p in executed if "bm25_per_term" in p]
    defaults = Bm25Params()
    assert sizes[0] == (defaults.per_term, defaults.rescore)
    assert sizes[-1] == (FUSION_PER_TERM, FUSION_RESCORE)
    assert FUSION_PER_TERM < defaults.per_term and FUSION_RESCORE < defaults.rescore
