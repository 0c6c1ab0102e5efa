"""`/users/{id}/search`: exact rankings on hand-made vectors, modes, isolation, filters, errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session

from pgsearch import db
from pgsearch.api.app import create_app
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.models import Document
from pgsearch.schemas import SearchRequest
from pgsearch.search import query as query_sql
from pgsearch.search.filters import compile_filter, compile_filter_params
from pgsearch.services import search as search_service
from tests.filter_cases import FILTER_CASES
from tests.helpers import (
    DIM,
    executed_statements,
    filter_corpus_user,
    make_user,
    mix,
    module_database,
    unit,
    vec_doc,
)


def search(client: TestClient, uid: int, **body: Any) -> list[dict[str, Any]]:
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text[:300]
    return list(r.json()["results"])


def ids(results: list[dict[str, Any]]) -> list[str | None]:
    return [h["external_id"] for h in results]


@pytest.fixture
def abc(client: TestClient) -> int:
    uid = make_user(client)
    docs = [
        vec_doc("alpha apples", unit(0), external_id="A", metadata={"group": "x"}),
        vec_doc("beta bananas", mix({0: 0.8, 1: 0.6}), external_id="B", metadata={"group": "y"}),
        vec_doc("gamma cherries", unit(1), external_id="C", metadata={"group": "x"}),
    ]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    return uid


def test_semantic_exact_ranking(client: TestClient, abc: int) -> None:
    results = search(client, abc, vector=unit(0), mode="semantic", k=3)
    assert ids(results) == ["A", "B", "C"]
    assert [round(h["score"], 4) for h in results] == [1.0, 0.8, 0.0]
    assert results[0]["text"] == "alpha apples" and results[0]["metadata"] == {"group": "x"}
    assert ids(search(client, abc, vector=unit(0), mode="semantic", k=2)) == ["A", "B"]


def test_semantic_with_filter(client: TestClient, abc: int) -> None:
    assert ids(search(client, abc, vector=unit(0), mode="semantic", filter={"group": "x"})) == [
        "A",
        "C",
    ]
    assert search(client, abc, vector=unit(0), mode="semantic", filter={"group": "none"}) == []


def test_keyword_ranking(client: TestClient) -> None:
    uid = make_user(client)
    docs = [
        vec_doc("the quick brown fox jumps", unit(0), external_id="fox"),
        vec_doc("a lazy dog sleeps all day", unit(1), external_id="dog"),
        vec_doc("the fox and the dog are friends; the fox runs", unit(2), external_id="both"),
    ]
    client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    assert ids(search(client, uid, query="fox dog", mode="keyword"))[0] == "both"
    assert set(ids(search(client, uid, query="foxes", mode="keyword"))) == {"fox", "both"}
    assert search(client, uid, query="elephant", mode="keyword") == []


def test_hybrid_fuses_both_rankings(client: TestClient) -> None:
    uid = make_user(client)
    docs = [
        vec_doc("unrelated words entirely", unit(0), external_id="sem"),
        vec_doc(
            "postgres and a vector, then many filler words, then search", unit(5), external_id="kw"
        ),
        vec_doc("postgres search engine", mix({0: 0.9, 5: 0.44}), external_id="both"),
    ]
    client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    results = search(client, uid, query="postgres search", vector=unit(0), mode="hybrid")
    assert ids(results)[0] == "both"
    assert set(ids(results)) == {"sem", "kw", "both"}
    assert results[0]["score"] > results[1]["score"]


def test_hybrid_with_builtin_model(client: TestClient) -> None:
    uid = make_user(client)
    texts = {
        "cat": "Cats are small furry animals that purr and chase mice.",
        "db": "PostgreSQL is a relational database with transactions and SQL.",
        "sea": "The ocean is vast, salty and full of fish and whales.",
    }
    docs = [{"text": t, "external_id": k} for k, t in texts.items()]
    client.post(f"/users/{uid}/documents/batch", json={"documents": docs})
    for mode in ("hybrid", "semantic"):
        r = client.post(f"/users/{uid}/search", json={"query": "kitten", "mode": mode})
        assert r.json()["results"][0]["external_id"] == "cat", mode
        assert r.json()["model"] == "all-MiniLM-L6-v2-int8"
    assert ids(search(client, uid, query="SQL database", mode="keyword")) == ["db"]


def test_hybrid_with_only_a_vector_runs_semantic_and_says_so(client: TestClient, abc: int) -> None:
    r = client.post(f"/users/{abc}/search", json={"vector": unit(0)})
    assert r.status_code == 200
    body = r.json()
    assert body["mode"] == "semantic"
    assert [h["external_id"] for h in body["results"]] == ["A", "B", "C"]
    assert body["results"][0]["score"] == pytest.approx(1.0)  # cosine similarity


def test_one_result_per_document(client: TestClient) -> None:
    uid = make_user(client)
    chunks = [{"text": f"part {i}", "embedding": mix({0: 1.0, 1: i / 10})} for i in range(5)]
    client.post(
        f"/users/{uid}/documents", json={"text": "long", "chunks": chunks, "external_id": "multi"}
    )
    client.post(f"/users/{uid}/documents", json=vec_doc("other", unit(1), external_id="other"))
    results = search(client, uid, vector=unit(0), mode="semantic", k=10)
    assert ids(results) == ["multi", "other"]
    assert results[0]["chunk_index"] == 0  # the best chunk


def test_users_never_see_each_other(client: TestClient) -> None:
    alice, bob = make_user(client, "alice"), make_user(client, "bob")
    client.post(f"/users/{alice}/documents", json=vec_doc("alice secret plans", unit(0)))
    client.post(f"/users/{bob}/documents", json=vec_doc("bob notes", unit(3)))
    for mode in ("semantic", "hybrid"):
        assert [
            h["text"] for h in search(client, bob, query="secret plans", vector=unit(0), mode=mode)
        ] == ["bob notes"]
    assert search(client, bob, query="secret", mode="keyword") == []


def test_filtered_search_returns_k_at_one_percent(client: TestClient) -> None:
    """A filter matching 1% of the corpus still yields k results, equal to the exact top k, when
    the HNSW index serves the search: an index scan stops after hnsw.ef_search rows, most of them
    filtered out, unless iterative scans carry it on. The rare documents all sit in one cluster
    and most queries aim at others, so a scan that stops early finds few or none of them."""
    uid = make_user(client)
    rng = random.Random(7)
    centers = [[rng.gauss(0, 1) for _ in range(DIM)] for _ in range(20)]
    docs = []
    for i in range(2000):
        vec = [x + rng.gauss(0, 0.3) for x in centers[i % 20]]
        docs.append(vec_doc(f"doc {i}", vec, external_id=str(i), metadata={"rare": i % 100 == 0}))
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs[:1000]})
    assert r.status_code == 200
    r = client.post(f"/users/{uid}/documents/batch", json={"documents": docs[1000:]})
    assert r.status_code == 200
    with db.get_engine().begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    rare = [d for i, d in enumerate(docs) if i % 100 == 0]
    where = compile_filter({"rare": True}, Document.meta.expression)
    with index_plans() as session:
        assert "ix_chunks_embedding_hnsw" in semantic_plan(
            session, uid=uid, k=10, query=centers[1], where=where
        )
        # More than 5 runs: psycopg switches to server-side prepared statements after 5.
        for q in range(8):
            query = [x + rng.gauss(0, 0.3) for x in centers[q % 20]]
            found = service_search(session, uid, vector=query, k=10, filter={"rare": True})
            assert len(found) == 10, f"run {q}: {len(found)} results"
            exact = sorted(rare, key=lambda d: -_cos(query, d["chunks"][0]["embedding"]))[:10]
            assert found == [d["external_id"] for d in exact]


@contextmanager
def index_plans(**settings: str) -> Iterator[Session]:
    """A read session whose planner takes the HNSW index's order over a sort (sorts are made
    too costly: small test tables would rather be scanned whole), with more settings if given."""
    settings = {"enable_sort": "off", **settings}
    with contextmanager(db.get_read_db)() as session:
        try:
            for name, value in settings.items():
                session.execute(text(f"SET {name} = {value}"))
            yield session
        finally:
            for name in settings:
                session.execute(text(f"RESET {name}"))


def service_search(session: Session, uid: int, **request: Any) -> list[str | None]:
    """A semantic search through the service in `session` (its settings apply): the hits' ids."""
    response = search_service.search(
        session,
        user_id=uid,
        request=SearchRequest(mode="semantic", **request),
        embedder=get_embedder("minilm"),
    )
    return [hit.external_id for hit in response.results]


def semantic_plan(
    session: Session,
    *,
    uid: int,
    k: int,
    query: list[float],
    where: ColumnElement[bool] | None = None,
) -> str:
    """EXPLAIN of the semantic search statement for these values."""
    conn = session.connection()
    compiled = query_sql.statement("semantic", where).compile(dialect=conn.dialect)
    params = query_sql.search_params(user_id=uid, k=k, vector=np.asarray(query, dtype=np.float32))
    # The filter's JSON values go to the driver as is: wrap them as SQLAlchemy's JSONB type would.
    values = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in compiled.params.items()}
    plan = conn.exec_driver_sql("EXPLAIN " + str(compiled), {**values, **params})
    return "\n".join(row[0] for row in plan)


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return float(dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5))


def test_filter_cases_on_postgres(client: TestClient) -> None:
    """Every filter operator against real PostgreSQL, on a hand-made corpus."""
    uid = filter_corpus_user(client)
    with db.get_sessionmaker()() as session:
        for spec, expected in FILTER_CASES:
            stmt = select(Document.external_id).where(
                Document.user_id == uid, compile_filter(spec, Document.meta.expression)
            )
            assert set(session.scalars(stmt)) == expected, spec


def _deep(n: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"a": 1}
    for _ in range(n):
        spec = {"$not": spec}
    return spec


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"query": "x", "k": 0}, 422, "greater than or equal to 1"),
        ({"query": "x", "k": 101}, 422, "less than or equal to 100"),
        ({"query": "x", "mode": "fuzzy"}, 422, "hybrid"),
        ({}, 422, "give a `query`"),
        ({"query": "   "}, 422, "blank"),
        ({"query": "x" * 2001}, 422, "at most 2000"),
        ({"vector": unit(0), "mode": "keyword"}, 422, "keyword search needs a `query`"),
        (
            {"vector": [1.0, 2.0, 3.0], "mode": "semantic"},
            422,
            "vector has 3 dimensions, expected 384",
        ),
        ({"vector": ["a"], "mode": "semantic"}, 422, "valid number"),
        ({"query": "x", "filter": {"a": {"$gtt": 1}}}, 422, "unknown operator"),
        ({"query": "x", "filter": {"a": {"$in": "x"}}}, 422, "$in"),
        ({"query": "x", "filter": [1]}, 422, "dictionary"),
        ({"query": "x", "filter": _deep(12)}, 422, "deeper than"),
        ({"query": "x", "filter": {"a": "'; DROP TABLE users; --"}}, 200, ""),
        ({"query": "'; DROP TABLE chunks; --", "mode": "keyword"}, 200, ""),
        ({"query": "x", "unknown": 1}, 422, "Extra inputs"),
    ],
)
def test_bad_search_requests(
    client: TestClient, abc: int, body: dict[str, Any], status: int, fragment: str
) -> None:
    r = client.post(f"/users/{abc}/search", json=body)
    assert r.status_code == status, r.text[:300]
    assert fragment in r.text
    assert len(search(client, abc, vector=unit(0), mode="semantic")) == 3  # nothing was harmed


def test_search_unknown_user(client: TestClient) -> None:
    r = client.post("/users/4242/search", json={"query": "x"})
    assert r.status_code == 404 and r.json() == {"detail": "user 4242 not found"}


def test_k_beyond_ef_search_still_returns_k(client: TestClient) -> None:
    """The candidate list (4 k) may be longer than hnsw.ef_search: iterative index scans carry
    the HNSW search on, so k=100 under ef_search=10 still finds the exact top 100. (The service
    would give a user of 400 chunks an exact scan: the HNSW statement is run directly.)"""
    uid = make_user(client)
    rng = random.Random(11)
    docs = [
        vec_doc(f"doc {i}", [rng.gauss(0, 1) for _ in range(DIM)], external_id=str(i))
        for i in range(400)
    ]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    query = [rng.gauss(0, 1) for _ in range(DIM)]
    with index_plans(**{"hnsw.ef_search": "10"}) as session:
        assert "ix_chunks_embedding_hnsw" in semantic_plan(session, uid=uid, k=100, query=query)
        vector = np.asarray(query, dtype=np.float32)
        params = query_sql.search_params(user_id=uid, k=100, vector=vector)
        rows = session.execute(query_sql.statement("semantic", approximate=True), params)
        found = [row.external_id for row in rows]
    exact = sorted(docs, key=lambda d: -_cos(query, d["chunks"][0]["embedding"]))[:100]
    assert len(found) == len(set(found)) == 100
    assert len(set(found) & {d["external_id"] for d in exact}) >= 95


# -- the semantic path: HNSW for big users, exact for small ones ------------------------------

BIG, SMALL_USERS, SMALL = 3000, 30, 12


ManyUsers = tuple[int, list[int], dict[str, list[float]]]


@pytest.fixture(scope="module")
def many_users_db(pg_config: DatabaseConfig) -> Iterator[tuple[DatabaseConfig, ManyUsers]]:
    """One user of 3,000 chunks beside 30 of 12, statistics taken before the big one's ingest,
    in a database of the module's own: made once, only read by the tests."""
    with module_database(pg_config, "many_users") as config, TestClient(create_app()) as client:
        with db.get_engine().begin() as conn:
            # The statistics must stay as made here for the whole module.
            conn.exec_driver_sql("ALTER TABLE chunks SET (autovacuum_enabled = false)")
        rng = random.Random(5)
        vectors: dict[str, list[float]] = {}

        def docs(prefix: str, n: int) -> list[dict[str, Any]]:
            out = []
            for i in range(n):
                vectors[f"{prefix}-{i}"] = [rng.gauss(0, 1) for _ in range(DIM)]
                meta = {"n": i}
                out.append(
                    vec_doc(
                        "x", vectors[f"{prefix}-{i}"], external_id=f"{prefix}-{i}", metadata=meta
                    )
                )
            return out

        small = [make_user(client, f"small {i}") for i in range(SMALL_USERS)]
        for uid in small:
            body = {"documents": docs(f"s{uid}", SMALL)}
            assert client.post(f"/users/{uid}/documents/batch", json=body).status_code == 200
        with db.get_engine().begin() as conn:
            conn.exec_driver_sql("ANALYZE chunks")  # before the big user: its statistics lag
        big = make_user(client, "big")
        batch = docs("big", BIG)
        for start in range(0, BIG, 1000):
            body = {"documents": batch[start : start + 1000]}
            assert client.post(f"/users/{big}/documents/batch", json=body).status_code == 200
        yield config, (big, small, vectors)


@pytest.fixture
def many_users(many_users_db: tuple[DatabaseConfig, ManyUsers]) -> ManyUsers:
    """`many_users_db`'s users, the engine pointed at its database for the test."""
    config, users = many_users_db
    db.configure(config)
    return users


@contextmanager
def _scan_budget(session: Any, max_scan_tuples: int) -> Any:
    """A tight HNSW scan budget, standing in for a table many times larger than the test's."""
    session.execute(text(f"SET hnsw.max_scan_tuples = {max_scan_tuples}"))
    session.execute(text("SET hnsw.ef_search = 10"))
    try:
        yield
    finally:
        session.execute(text("RESET hnsw.max_scan_tuples"))
        session.execute(text("RESET hnsw.ef_search"))


def _plan(conn: Any, stmt: Any, params: dict[str, Any]) -> str:
    compiled = stmt.compile(dialect=conn.dialect)
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), {**compiled.params, **params})
    return "\n".join(row[0] for row in rows)


def test_semantic_path_by_user_size(
    many_users: ManyUsers,
) -> None:
    """The big user goes through the HNSW index although the statistics say it has no rows;
    a small user gets an exact scan of its own chunks."""
    big, small, _ = many_users
    vector = np.ones(DIM, dtype=np.float32)
    with contextmanager(db.get_read_db)() as session:
        conn = session.connection()
        pays = {u: conn.scalar(query_sql.approximate_pays(), {"user_id": u}) for u in (big, *small)}
        assert pays[big] is True and not any(pays[u] for u in small)
        params = query_sql.search_params(user_id=big, k=10, vector=vector)
        # At 3,360 rows a full scan is cheapest; in a table worth an index it is not.
        session.execute(text("SET enable_seqscan = off"))
        try:
            plan = _plan(conn, query_sql.statement("semantic"), params)
        finally:
            session.execute(text("RESET enable_seqscan"))
        assert "ix_chunks_embedding_hnsw" in plan
        params = query_sql.search_params(user_id=small[0], k=10, vector=vector)
        exact = _plan(conn, query_sql.statement("semantic", approximate=False), params)
        assert "ix_chunks_embedding_hnsw" not in exact and "ix_chunks_user_id" in exact


def test_small_users_among_many_get_k(
    many_users: ManyUsers,
) -> None:
    """Each small user gets its exact top k in one statement, even where an HNSW scan would
    give up early; the big user's HNSW search still returns k."""
    big, small, vectors = many_users
    rng = random.Random(9)
    with contextmanager(db.get_read_db)() as session, _scan_budget(session, 50):
        for uid in [*small[:10], big]:
            query = [rng.gauss(0, 1) for _ in range(DIM)]
            with executed_statements() as executed:
                response = search_service.search(
                    session,
                    user_id=uid,
                    request=SearchRequest(vector=query, mode="semantic", k=10),
                    embedder=get_embedder("minilm"),
                )
            searches = [sql for sql, _ in executed if "semantic_candidates" in sql]
            found = [hit.external_id for hit in response.results]
            assert len(found) == 10, f"user {uid}: {len(found)} results"
            assert len(searches) == 1, f"user {uid}: the first path chosen came back short"
            if uid != big:
                mine = [key for key in vectors if key.startswith(f"s{uid}-")]
                exact = sorted(mine, key=lambda key: -_cos(query, vectors[key]))[:10]
                assert found == exact


def test_hnsw_short_of_k_falls_back_to_exact(
    many_users: ManyUsers,
) -> None:
    """A filter matching 5 of the big user's 3,000 chunks, one no index serves: the HNSW scan
    runs out of budget first, the exact scan finds all 5."""
    big, _, vectors = many_users
    query = [1.0] * DIM
    with contextmanager(db.get_read_db)() as session, _scan_budget(session, 50):
        # As in a table worth an index (at 3,360 rows a full scan and a sort are cheapest).
        session.execute(text("SET enable_sort = off"))
        response = search_service.search(
            session,
            user_id=big,
            request=SearchRequest(vector=query, mode="semantic", k=10, filter={"n": {"$lt": 5}}),
            embedder=get_embedder("minilm"),
        )
        session.execute(text("RESET enable_sort"))
    rare = sorted((f"big-{i}" for i in range(5)), key=lambda key: -_cos(query, vectors[key]))
    assert [hit.external_id for hit in response.results] == rare


def test_hybrid_rescans_exactly_when_its_hnsw_side_stops_short(
    many_users: ManyUsers,
) -> None:
    """20 of the big user's chunks match the filter: BM25 finds all 20 (every chunk says "x"),
    the HNSW scan runs out of budget first. The semantic side must still rank all 20."""
    big, _, vectors = many_users
    query = [1.0] * DIM
    request = SearchRequest(query="x", vector=query, mode="hybrid", k=10, filter={"n": {"$lt": 20}})
    with contextmanager(db.get_read_db)() as session, _scan_budget(session, 50):
        session.execute(text("SET enable_sort = off"))
        response = search_service.search(
            session, user_id=big, request=request, embedder=get_embedder("minilm")
        )
        session.execute(text("RESET enable_sort"))
    # Equal BM25 scores: gap 0, so the order is the semantic one.
    matching = sorted((f"big-{i}" for i in range(20)), key=lambda key: -_cos(query, vectors[key]))
    assert [hit.external_id for hit in response.results] == matching[:10]


def test_a_users_path_is_counted_once_then_remembered(client: TestClient) -> None:
    uid = make_user(client)
    docs = [vec_doc(f"d{i}", unit(i % DIM), external_id=str(i)) for i in range(20)]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    with executed_statements() as executed:
        for _ in range(3):
            search(client, uid, vector=unit(0), mode="semantic", k=5)
    statements = [sql for sql, _ in executed]
    counts = [s for s in statements if "semantic_candidates" not in s and "count(" in s]
    assert len(counts) == 1, statements  # the later searches are one statement each
    assert len([s for s in statements if "semantic_candidates" in s]) == 3


def test_hybrid_score_is_the_adaptive_fusion_of_both_rankings(client: TestClient) -> None:
    """Hybrid scores recomputed here from the semantic and keyword results (k covers all)."""
    uid = make_user(client)
    words = ["postgres", "search", "vector", "index", "query", "table"]
    docs = [
        vec_doc(
            " ".join(words[j % len(words)] for j in range(i, i + 2 + i % 3)),
            mix({i % 7: 1.0, (i + 1) % 7: 0.3 * i}),
            external_id=f"d{i}",
        )
        for i in range(12)
    ]
    # One document matches the query's words far better than the rest: the fusion leans on BM25.
    docs.append(vec_doc("postgres vector " * 3, unit(9), external_id="d12"))
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": docs}).status_code == 200
    body = {"query": "postgres vector", "vector": mix({0: 1.0, 2: 0.5}), "k": 50}
    sem = {h["external_id"]: h["score"] for h in search(client, uid, **body, mode="semantic")}
    kw = {h["external_id"]: h["score"] for h in search(client, uid, **body, mode="keyword")}
    hybrid = search(client, uid, **body, mode="hybrid")
    assert len(kw) >= 2 and len(sem) == 13

    def min_max(scores: dict[str | None, float]) -> dict[str | None, float]:
        low, high = min(scores.values()), max(scores.values())
        return {d: (s - low) / (high - low) if high > low else 1.0 for d, s in scores.items()}

    best, second = sorted(kw.values(), reverse=True)[:2]
    alpha = 0.9 - 0.7 * (best - second) / best
    assert alpha < 0.75  # the case where keywords weigh most
    s, b = min_max(sem), min_max(kw)
    expected = {d: alpha * s.get(d, 0.0) + (1 - alpha) * b.get(d, 0.0) for d in sem | kw}
    # Ties go to the older document (lower id: d0 was stored first).
    order = sorted(expected, key=lambda d: (-round(expected[d], 9), int(str(d)[1:])))
    assert [h["external_id"] for h in hybrid] == order
    for hit in hybrid:
        assert hit["score"] == pytest.approx(expected[hit["external_id"]], abs=1e-6)


def test_filtered_statements_are_planned_at_each_execution(client: TestClient) -> None:
    """Unfiltered search statements are prepared (one generic plan); those with a metadata
    filter never are, so each execution is planned for the filter's values."""
    uid = make_user(client)
    compiled = compile_filter_params({"kind": "a"}, Document.meta.expression)
    filtered = query_sql.filtered_statement("semantic", compiled)
    plain = query_sql.statement("semantic")
    values = query_sql.search_params(user_id=uid, k=5, vector=np.asarray(unit(0), np.float32))
    with db.get_engine().connect() as conn:
        driver = db.driver_connection(conn)
        for _ in range(db.PREPARE_THRESHOLD + 1):
            db.fetch_all_sync(driver, plain, values)
            db.fetch_all_sync(driver, filtered, values | compiled.params)
        prepared = conn.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    searches = [s for s in prepared if "semantic_candidates" in s]
    assert ["@>" in s for s in searches] == [False]  # the filter is a containment
