"""pgsearch_bm25, keyword search's C extension: built and enabled on the test server, the same
documents and scores as the SQL form, what this transaction sees, and the SQL form without it."""

from __future__ import annotations

import math
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from pgsearch import db
from pgsearch.embedded import bin_path
from pgsearch.native import _SHARED, EXTENSION, VERSION
from pgsearch.schemas import SearchMode, SearchRequest
from pgsearch.search.bm25 import Bm25Params
from pgsearch.services import user_facts
from tests.helpers import executed_statements, make_user, service_search, unit, vec_doc

# Zipf-like word frequencies: a few words in most documents, many in few.
VOCABULARY = [f"w{i}" for i in range(120)]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCABULARY))]


def corpus(seed: int, count: int) -> dict[str, str]:
    rng = random.Random(seed)
    return {
        f"d{i}": " ".join(rng.choices(VOCABULARY, WEIGHTS, k=rng.randint(3, 60)))
        for i in range(count)
    }


def search(
    session: Session, uid: int, query: str, mode: SearchMode, params: Bm25Params, k: int = 10
) -> list[tuple[str, float]]:
    request = SearchRequest(
        query=query, mode=mode, k=k, vector=unit(1) if mode == "hybrid" else None
    )
    return service_search(session, uid, request, params)


def assert_same_ranking(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> None:
    """Equal scores, and the same documents wherever a score is not tied with the last one
    (which of tied documents fill the last places is arbitrary)."""
    assert [s for _, s in a] == pytest.approx([s for _, s in b], rel=1e-9)
    if a:
        last = a[-1][1]
        assert {n for n, s in a if s > last * (1 + 1e-9)} == {
            n for n, s in b if s > last * (1 + 1e-9)
        }


def test_extension_is_built_and_enabled(client: TestClient) -> None:
    with db.get_engine().connect() as conn:
        version = conn.scalar(
            text("SELECT extversion FROM pg_extension WHERE extname = :name"), {"name": EXTENSION}
        )
    assert version == VERSION
    control = next(f for f in _SHARED if f.suffix == ".control").read_text()
    assert f"default_version = '{VERSION}'" in control


@pytest.mark.parametrize(
    "params",
    [
        Bm25Params(),
        # Lists cut after a few postings, few chunks re-scored: bounds, cuts, the certificate
        # and the fallback to every match all come into play.
        Bm25Params(per_term=6, rescore=8),
        Bm25Params(per_term=3, rescore=4, k1=2.0, b=0.3),
    ],
)
def test_native_and_sql_forms_give_the_same_results(client: TestClient, params: Bm25Params) -> None:
    uid = make_user(client)
    docs = corpus(7, 300)
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    rng = random.Random(11)
    queries = [" ".join(rng.choices(VOCABULARY, WEIGHTS, k=rng.randint(1, 6))) for _ in range(25)]
    queries += ["w0 w0 w1", "w119 nosuchword", "w3 w77 w100 w118"]
    modes: tuple[SearchMode, ...] = ("keyword", "hybrid")
    with db.get_read_sessionmaker()() as session:
        for query in queries:
            for mode in modes:
                with executed_statements() as native_sql:
                    native = search(session, uid, query, mode, replace(params, native=True))
                with executed_statements() as plain_sql:
                    plain = search(session, uid, query, mode, replace(params, native=False))
                assert any("bm25_top_docs" in sql for sql, _ in native_sql)
                assert not any("bm25_top_docs" in sql for sql, _ in plain_sql)
                assert native, (query, mode)
                assert_same_ranking(native, plain)


def test_native_reading_sees_what_its_transaction_sees(client: TestClient) -> None:
    """Index entries outlive their rows until vacuum: deleted chunks' postings must not take
    the places of the top postings read."""
    uid = make_user(client)
    # Shorter documents, higher impacts: z0 and z1 hold the top postings of "zebra".
    docs = {f"z{i}": "zebra" + " filler" * i for i in range(6)}
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    top_two = text(
        "SELECT d.external_id FROM bm25_top_bounds('ix_bm25_postings_impact', :uid,"
        " ARRAY[hashtextextended('zebra', 0)], '{1}', '{2}', 10) b"
        " JOIN chunks c ON c.id = b.chunk_id JOIN documents d ON d.id = c.document_id"
        " ORDER BY b.bound DESC"
    )
    every = text(
        "SELECT count(*) FROM bm25_top_bounds('ix_bm25_postings_impact', :uid,"
        " ARRAY[hashtextextended('zebra', 0)], '{1}', ARRAY[2147483647], 100)"
    )
    with db.get_sessionmaker()() as session:
        assert session.scalar(every, {"uid": uid}) == 6  # a depth past the list's end
        assert session.scalars(top_two, {"uid": uid}).all() == ["z0", "z1"]
        session.execute(text("DELETE FROM documents WHERE external_id IN ('z0', 'z1')"))
        assert session.scalars(top_two, {"uid": uid}).all() == ["z2", "z3"]
        found = search(session, uid, "zebra", "keyword", Bm25Params(per_term=2, rescore=4), k=2)
        assert [n for n, _ in found] == ["z2", "z3"]
        session.rollback()


def test_search_without_the_extension_runs_the_sql_form(client: TestClient) -> None:
    uid = make_user(client)
    docs = corpus(5, 80)
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    with db.get_sessionmaker()() as session:
        expected = search(session, uid, "w2 w40", "keyword", Bm25Params())
        session.execute(text(f"DROP EXTENSION {EXTENSION}"))  # undone by the rollback
        user_facts.forget()
        with executed_statements() as statements:
            found = search(session, uid, "w2 w40", "keyword", Bm25Params())
        session.rollback()
    user_facts.forget()
    assert not any("bm25_top_docs" in sql for sql, _ in statements)
    assert_same_ranking(found, expected)


def test_native_functions_refuse_bad_arguments(client: TestClient) -> None:
    with db.get_engine().connect() as conn:
        for sql, message in (
            (
                "SELECT * FROM bm25_top_bounds('ix_bm25_postings_impact', 1, '{1,2}', '{1}',"
                " '{1,1}', 10)",
                "same length",
            ),
            (
                "SELECT * FROM bm25_top_bounds('pk_chunks', 1, '{1}', '{1}', '{1}', 10)",
                "has no column",
            ),
            ("SELECT * FROM bm25_top_bounds(NULL, 1, '{1}', '{1}', '{1}', 10)", "not found"),
            ("SELECT bm25_score('a b', '{a,b}', '{1}', 0.5, 0.1, 2)", "same length"),
        ):
            with pytest.raises(Exception, match=message):
                with conn.begin_nested() if conn.in_transaction() else conn.begin():
                    conn.execute(text(sql))
        # No terms (array_agg of none is NULL): nothing to read.
        assert (
            conn.execute(
                text(
                    "SELECT * FROM bm25_top_bounds('ix_bm25_postings_impact', 1, NULL,"
                    " '{}', '{}', 5)"
                )
            ).all()
            == []
        )
        score = conn.scalar(
            text("SELECT bm25_score('a:1,2 b:3', '{a,c}', '{2.0,5.0}', 0.5, 0.1, 3)")
        )
    assert score == pytest.approx(2.0 * 2 / (2 + 0.5 + 0.1 * 3))


@pytest.mark.parametrize(
    ("columns", "index", "message"),
    [
        # A text user_id: its btree compares the integer argument as a pointer to text.
        (
            "user_id text, term bigint, impact real, chunk_id bigint, length int",
            "(user_id, term, impact DESC) INCLUDE (chunk_id, length)",
            "must be",
        ),
        (
            "user_id int, term bigint, impact real, chunk_id numeric, length int",
            "(user_id, term, impact DESC) INCLUDE (chunk_id, length)",
            "must be",
        ),
        # Ascending impacts: the lowest would be read as the top postings.
        (
            "user_id int, term bigint, impact real, chunk_id bigint, length int",
            "(user_id, term, impact) INCLUDE (chunk_id, length)",
            "impact DESC",
        ),
        # impact in INCLUDE: in no order at all.
        (
            "user_id int, term bigint, impact real, chunk_id bigint, length int",
            "(user_id, term) INCLUDE (impact, chunk_id, length)",
            "impact DESC",
        ),
        # A partial index holds only some of the postings.
        (
            "user_id int, term bigint, impact real, chunk_id bigint, length int",
            "(user_id, term, impact DESC) INCLUDE (chunk_id, length) WHERE length > 5",
            "partial",
        ),
    ],
)
def test_top_bounds_refuses_an_index_of_another_shape(
    client: TestClient, columns: str, index: str, message: str
) -> None:
    """The index is an argument: one of other column types must be refused, not read (a
    by-reference type read as an integer crashes the server, an order it does not expect gives
    wrong rows)."""
    with db.get_engine().connect() as conn:
        conn.execute(text(f"CREATE TEMP TABLE other_postings ({columns})"))
        conn.execute(text(f"CREATE INDEX other_impact ON other_postings {index}"))
        conn.execute(
            text(
                "INSERT INTO other_postings (user_id, term, impact, chunk_id, length)"
                " VALUES ('1', 7, 0.5, 1, 9)"
            )
        )
        with pytest.raises(Exception, match=message):
            conn.execute(
                text("SELECT * FROM bm25_top_bounds('other_impact', 1, '{7}', '{1}', '{5}', 5)")
            )
        conn.rollback()


def test_top_bounds_applies_what_a_select_would(client: TestClient) -> None:
    """Reading below the executor, the function checks the table's privilege and refuses a
    table whose row-level security applies to the caller (its policies would be bypassed)."""
    shape = "(user_id int, term bigint, impact real, chunk_id bigint, length int)"
    read = text("SELECT count(*) FROM bm25_top_bounds('guarded_impact', 1, '{7}', '{1}', '{5}', 5)")
    with db.get_engine().connect() as conn:
        conn.execute(text(f"CREATE TABLE guarded {shape}"))
        conn.execute(
            text(
                "CREATE INDEX guarded_impact ON guarded (user_id, term, impact DESC)"
                " INCLUDE (chunk_id, length)"
            )
        )
        conn.execute(text("INSERT INTO guarded VALUES (1, 7, 0.5, 1, 9), (1, 7, 0.4, 2, 9)"))
        conn.execute(text("CREATE ROLE bm25_reader"))
        conn.execute(text("SET LOCAL ROLE bm25_reader"))
        with pytest.raises(Exception, match="permission denied"):
            with conn.begin_nested():
                conn.execute(read)
        conn.execute(text("RESET ROLE"))
        conn.execute(text("GRANT SELECT ON guarded TO bm25_reader"))
        conn.execute(text("ALTER TABLE guarded ENABLE ROW LEVEL SECURITY"))
        conn.execute(text("CREATE POLICY only_2 ON guarded TO bm25_reader USING (chunk_id = 2)"))
        conn.execute(text("SET LOCAL ROLE bm25_reader"))
        assert conn.scalar(text("SELECT count(*) FROM guarded")) == 1
        with pytest.raises(Exception, match="row-level security"):
            with conn.begin_nested():
                conn.execute(read)
        conn.execute(text("RESET ROLE"))
        assert conn.scalar(read) == 2  # the owner: no policy applies
        conn.rollback()


def test_search_runs_the_sql_form_when_the_server_lost_the_extension(client: TestClient) -> None:
    """A database keeps its extension when the server's folders lose it (the embedded server
    re-installed with no compiler at hand): searches must not call a library that is gone."""
    uid = make_user(client)
    docs = corpus(5, 40)
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    sharedir = subprocess.run(
        [str(bin_path() / "pg_config"), "--sharedir"], check=True, capture_output=True, text=True
    ).stdout.strip()
    control = Path(sharedir) / "extension" / f"{EXTENSION}.control"
    aside = control.with_name(f".{control.name}.aside")
    user_facts.forget()
    control.rename(aside)
    try:
        with db.get_sessionmaker()() as session:
            with executed_statements() as statements:
                found = search(session, uid, "w2 w40", "keyword", Bm25Params())
    finally:
        aside.rename(control)
        user_facts.forget()
    assert found
    assert not any("bm25_top_docs" in sql for sql, _ in statements)


def test_top_bounds_takes_serializable_reads_locks(client: TestClient) -> None:
    """Under SERIALIZABLE, postings read from the index alone (all-visible heap pages) take
    predicate locks on their heap pages, as an index-only scan does: otherwise a concurrent
    delete of what was read goes unnoticed by serializable conflict detection."""
    uid = make_user(client)
    docs = {f"s{i}": "serial" + " filler" * i for i in range(5)}
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    engine = db.get_engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (FREEZE) bm25_postings"))  # every page all-visible
    heap_locks = text(
        "SELECT count(*) FROM pg_locks WHERE mode = 'SIReadLock' AND pid = pg_backend_pid()"
        " AND relation = 'bm25_postings'::regclass"
    )
    with engine.connect().execution_options(isolation_level="SERIALIZABLE") as conn:
        read = conn.execute(
            text(
                "SELECT chunk_id FROM bm25_top_bounds('ix_bm25_postings_impact', :uid,"
                " ARRAY[hashtextextended('serial', 0)], '{1}', '{10}', 10)"
            ),
            {"uid": uid},
        ).all()
        assert len(read) == 5
        assert conn.scalar(heap_locks) > 0
        conn.rollback()


def test_top_bounds_orders_as_sql_orders_floats(client: TestClient) -> None:
    """Ties (NaN ones too: equal to each other in SQL's order) go by chunk id, as the SQL
    form's ORDER BY bound DESC, chunk_id takes them."""
    with db.get_engine().connect() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE p (user_id int, term bigint, impact real, chunk_id bigint,"
                " length int)"
            )
        )
        conn.execute(
            text("CREATE INDEX p_i ON p (user_id, term, impact DESC) INCLUDE (chunk_id, length)")
        )
        conn.execute(text("INSERT INTO p SELECT 1, 7, 0.5, g, 3 FROM generate_series(50, 1, -1) g"))
        conn.execute(text("INSERT INTO p VALUES (1, 7, 'NaN', 60, 3), (1, 7, 'Infinity', 70, 3)"))
        for weights, expected in (("{1}", [60, 70, 1, 2, 3]), ("{NaN}", [1, 2, 3, 4, 5])):
            rows = (
                conn.execute(
                    text(
                        "SELECT chunk_id FROM bm25_top_bounds('p_i', 1, '{7}',"
                        f" '{weights}', '{{100}}', 5)"
                    )
                )
                .scalars()
                .all()
            )
            assert rows == expected, weights
        conn.rollback()


@contextmanager
def reader_waiting_for(
    table: str, read: Callable[[Connection], object]
) -> Iterator[tuple[Connection, list[object]]]:
    """A connection holding `table` ACCESS EXCLUSIVE, once another thread's `read` waits for
    it; at the end the lock is rolled back and `outcome` holds what `read` returned (or
    raised)."""
    engine = db.get_engine()
    outcome: list[object] = []

    def reader() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SET lock_timeout = '30s'"))
                outcome.append(read(conn))
                conn.rollback()
        except Exception as exc:  # reported through `outcome`
            outcome.append(exc)

    with engine.connect() as ddl:
        ddl.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        thread = threading.Thread(target=reader)
        thread.start()
        waiting = text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
            " AND relation = CAST(:table AS regclass)"
        )
        deadline = time.monotonic() + 30
        while ddl.scalar(waiting, {"table": table}) == 0:
            assert time.monotonic() < deadline, f"the reader never waited for {table}"
            time.sleep(0.05)
        yield ddl, outcome
        ddl.rollback()
    thread.join(60)


def test_top_bounds_locks_the_table_before_its_index(client: TestClient) -> None:
    """DDL locks a table before its indexes (DROP INDEX, REINDEX): a reader that locked the
    index first and then waited for the table deadlocked with it."""
    read = text(
        "SELECT count(*) FROM bm25_top_bounds('ix_bm25_postings_impact', 1, '{7}', '{1}', '{5}', 5)"
    )
    with reader_waiting_for("bm25_postings", lambda conn: conn.scalar(read)) as (ddl, outcome):
        # The reader holds nothing yet: the index is the DDL's to take.
        ddl.execute(text("SET LOCAL lock_timeout = '30s'"))
        ddl.execute(text("DROP INDEX ix_bm25_postings_impact"))
    assert outcome == [0]


def test_an_extension_of_another_version_is_updated_or_not_used(client: TestClient) -> None:
    """A database whose pgsearch_bm25 is not the version the server's files define (a newer
    pgsearch shipped a new one) is updated by init-db; until then searches run the SQL form
    (the functions' signatures may have changed)."""
    engine = db.get_engine()
    stale = text("UPDATE pg_extension SET extversion = '0.9' WHERE extname = :name")
    current = text(f"UPDATE pg_extension SET extversion = '{VERSION}' WHERE extname = :name")
    uid = make_user(client)
    with db.get_sessionmaker()() as session:
        session.execute(stale, {"name": EXTENSION})  # undone by the rollback
        user_facts.forget()
        with executed_statements() as statements:
            search(session, uid, "w2 w40", "keyword", Bm25Params())
        session.rollback()
    user_facts.forget()
    assert not any("bm25_top_docs" in sql for sql, _ in statements)
    with engine.begin() as conn:
        conn.execute(stale, {"name": EXTENSION})
    try:
        message = db._enable_native(engine)
    finally:
        with engine.begin() as conn:
            conn.execute(current, {"name": EXTENSION})
    # No update script from the made-up 0.9: the update was attempted and said so.
    assert "update path" in message, message


TOP_K = (
    "SELECT d.external_id, t.score FROM bm25_top_k('ix_bm25_postings_impact', :uid,"
    " ARRAY[hashtextextended('zebra', 0)], '{1}', '{100}', 100, :key, '{zebra}', '{2.2}', 0.3,"
    " 0.01, :k, :drift) t JOIN documents d ON d.id = t.document_id"
)


def zebra_user(client: TestClient) -> int:
    """Documents z0..z5: "zebra" once among more and more filler words, so that z0 scores
    highest, then z1, and so on."""
    uid = make_user(client)
    docs = {f"z{i}": "zebra" + " filler" * i for i in range(6)}
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    return uid


def test_top_k_scores_by_bound_and_stops_where_none_can_reach_the_top_k(
    client: TestClient,
) -> None:
    uid = zebra_user(client)
    args = {"uid": uid, "key": "pk_chunks", "k": 2}
    with db.get_sessionmaker()() as session:
        every = session.execute(text(TOP_K), {**args, "drift": None}).all()
        # Every chunk read, scored as bm25_score scores it, highest bound (= score) first.
        assert [n for n, _ in every] == [f"z{i}" for i in range(6)]
        expected = session.scalars(
            text(
                "SELECT bm25_score(c.tsv, '{zebra}', '{2.2}', 0.3, 0.01, p.length)"
                " FROM chunks c JOIN bm25_postings p ON p.chunk_id = c.id"
                " JOIN documents d ON d.id = c.document_id"
                " WHERE c.user_id = :uid AND p.term = hashtextextended('zebra', 0)"
                " ORDER BY d.external_id"
            ),
            {"uid": uid},
        ).all()
        assert [s for _, s in every] == pytest.approx(expected, rel=1e-12)
        # With a drift, the third chunk's bound is below the second document's score: no more.
        pruned = session.execute(text(TOP_K), {**args, "drift": 1.0}).all()
        assert [n for n, _ in pruned] == ["z0", "z1"]
        # A large drift lets no bound fall below it.
        assert len(session.execute(text(TOP_K), {**args, "drift": 1e6}).all()) == 6
        # What this transaction deleted is not scored.
        session.execute(text("DELETE FROM documents WHERE external_id = 'z0'"))
        after = session.execute(text(TOP_K), {**args, "drift": 1.0}).all()
        assert [n for n, _ in after] == ["z1", "z2"]
        session.rollback()


def test_top_k_refuses_a_key_of_another_shape(client: TestClient) -> None:
    uid = zebra_user(client)
    with db.get_engine().connect() as conn:
        for key, message in (
            ("ix_chunks_user_id", "unique index on one bigint column"),
            ("pk_documents", "document_id and a tsvector tsv"),
            ("ix_bm25_postings_impact", "document_id and a tsvector tsv"),
        ):
            with pytest.raises(Exception, match=message):
                with conn.begin_nested() if conn.in_transaction() else conn.begin():
                    conn.execute(text(TOP_K), {"uid": uid, "key": key, "k": 2, "drift": None})
        with pytest.raises(Exception, match="k must be positive"):
            with conn.begin_nested() if conn.in_transaction() else conn.begin():
                conn.execute(text(TOP_K), {"uid": uid, "key": "pk_chunks", "k": 0, "drift": None})


def test_top_k_takes_any_k(client: TestClient) -> None:
    """k bounds the documents kept, not what is allocated: a k above the chunks read is no
    error (a k of 2^31 - 1 asked for 32 GB)."""
    uid = zebra_user(client)
    with db.get_engine().connect() as conn:
        found = conn.execute(
            text(TOP_K), {"uid": uid, "key": "pk_chunks", "k": 2**31 - 1, "drift": 1.0}
        ).all()
    assert [n for n, _ in found] == [f"z{i}" for i in range(6)]


def test_init_db_updates_an_extension_of_an_earlier_version(client: TestClient) -> None:
    """A database made by pgsearch with pgsearch_bm25 1.0 (neither bm25_top_k nor
    bm25_top_docs) gets both from the update scripts, and keyword search uses them."""
    engine = db.get_engine()
    arguments = (
        "(regclass, integer, bigint[], double precision[], integer[], integer,"
        " regclass, text[], double precision[], double precision, double precision, integer,"
        " double precision)"
    )
    signatures = [f"{name}{arguments}" for name in ("bm25_top_k", "bm25_top_docs")]
    with engine.begin() as conn:
        for signature in signatures:
            conn.execute(text(f"ALTER EXTENSION {EXTENSION} DROP FUNCTION {signature}"))
            conn.execute(text(f"DROP FUNCTION {signature}"))
        conn.execute(
            text("UPDATE pg_extension SET extversion = '1.0' WHERE extname = :name"),
            {"name": EXTENSION},
        )
    user_facts.forget()
    message = db._enable_native(engine)
    assert message.startswith("✓"), message
    with engine.connect() as conn:
        for signature in signatures:
            found = conn.scalar(text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": signature})
            assert found, signature
    uid = zebra_user(client)
    with db.get_read_sessionmaker()() as session, executed_statements() as statements:
        found = search(session, uid, "zebra", "keyword", Bm25Params(), k=2)
    user_facts.forget()
    assert [n for n, _ in found] == ["z0", "z1"]
    assert any("bm25_top_docs" in sql for sql, _ in statements)


def test_top_docs_keeps_each_documents_best_chunk_best_first(client: TestClient) -> None:
    """bm25_top_docs: bm25_top_k's rows, one per document (its best chunk), best first, each
    saying whether the top k is certain as the SQL form's certificate says it."""
    uid = make_user(client)
    # Documents of several chunks each.
    body = []
    for i in range(8):
        parts = list(corpus(40 + i, 5).values())
        pieces = [{"text": t, "embedding": unit((5 * i + j) % 300)} for j, t in enumerate(parts)]
        body.append({"text": " ".join(parts), "chunks": pieces, "external_id": f"long{i}"})
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    call = (
        "SELECT * FROM {f}('ix_bm25_postings_impact', :uid, CAST(:terms AS bigint[]),"
        " '{{1.5,1.2,0.9}}', CAST(:depths AS integer[]), :n, 'pk_chunks', '{{w1,w2,w3}}',"
        " :weights, 0.3, 0.01, 5, :drift)"
    )
    terms = text("SELECT array_agg(hashtextextended(w, 0)) FROM unnest('{w1,w2,w3}'::text[]) w")
    certainties = set()
    with db.get_engine().connect() as conn:
        hashed = conn.scalar(terms)
        # Lists read whole; lists cut short, pruned or not (unpruned: never certain while some
        # chunk was left unscored, however high the k-th score).
        cases = [([50] * 3, 200, None), ([3] * 3, 6, 1.0), ([6] * 3, 12, 1.0), ([6] * 3, 12, None)]
        for depths, n, drift in cases:
            values = {
                "uid": uid,
                "terms": hashed,
                "depths": depths,
                "n": n,
                "drift": drift,
                "weights": [3.3, 2.6, 2.0],
            }
            chunks = conn.execute(text(call.format(f="bm25_top_k")), values).all()
            documents = conn.execute(text(call.format(f="bm25_top_docs")), values).all()
            best: dict[int, tuple[int, int, float]] = {}
            for c, d, score, _ in chunks:
                if d not in best or score > best[d][2]:
                    best[d] = (c, d, score)
            assert len(chunks) > len(best) > 1  # documents of several chunks scored
            expected = sorted(best.values(), key=lambda r: (-r[2], r[1]))
            assert [(c, d, score) for c, d, score, _ in documents] == expected
            # The SQL form's certificate (query.keyword_search, bm25.Certificate).
            outside = chunks[0].outside
            kth = expected[4][2] if len(expected) >= 5 else None
            certain = outside == 0 or (
                drift is not None and kth is not None and kth >= drift * outside * (1 - 1e-6)
            )
            assert {r.certified for r in documents} == {certain}
            certainties.add((certain, drift is None and kth is not None))
            # A NaN weight (a caller's, never pgsearch's) makes NaN scores: no error, still one
            # row per document.
            rows = conn.execute(
                text(call.format(f="bm25_top_docs")), values | {"weights": [math.nan, 2.6, 2.0]}
            ).all()
            ids = [r.document_id for r in rows]
            assert len(ids) == len(set(ids)) > 1
            assert any(math.isnan(r.score) for r in rows)
    # Each answer given, and the unpruned one uncertain with k documents found.
    assert (False, True) in certainties and any(certain for certain, _ in certainties)


def test_an_uncertified_top_k_is_read_again_deeper_before_every_match_is_scored(
    client: TestClient,
) -> None:
    """Lists cut after two postings certify little; the second statement reads every list
    the exhaustive form would read whole, in C, and certifies what it finds: no SQL scoring of
    every match, and the same ranking as the SQL form."""
    uid = make_user(client)
    docs = corpus(3, 200)
    body = [vec_doc(t, unit(i % 300), external_id=n) for i, (n, t) in enumerate(docs.items())]
    assert client.post(f"/users/{uid}/documents/batch", json={"documents": body}).status_code == 200
    shallow = Bm25Params(per_term=2, rescore=4)
    with db.get_read_sessionmaker()() as session:
        with executed_statements() as statements:
            found = search(session, uid, "w3 w40 w77", "keyword", shallow)
        expected = search(session, uid, "w3 w40 w77", "keyword", replace(shallow, native=False))
    top_k = [params for sql, params in statements if "bm25_top_docs" in sql]
    assert [p["bm25_per_term"] for p in top_k] == [2, shallow.deep(40).per_term]
    assert not any("bm25_scores" in sql for sql, _ in statements)  # the exhaustive form's
    assert_same_ranking(found, expected)


def test_native_reading_keeps_its_locks_until_the_transaction_ends(client: TestClient) -> None:
    """As the executor keeps them: a TRUNCATE (not MVCC-safe) or a rewrite of what the
    transaction read waits for its end, instead of showing it an empty table."""
    uid = zebra_user(client)
    engine = db.get_engine()
    with engine.connect() as reader, engine.connect() as ddl:
        assert reader.execute(text(TOP_K), {"uid": uid, "key": "pk_chunks", "k": 2, "drift": None})
        for table in ("bm25_postings", "chunks"):
            with pytest.raises(Exception, match="could not obtain lock"):
                with ddl.begin():
                    ddl.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT"))
        reader.rollback()
        with ddl.begin():
            ddl.execute(text("LOCK TABLE bm25_postings, chunks IN ACCESS EXCLUSIVE MODE NOWAIT"))


def test_top_k_locks_the_chunks_before_the_postings(client: TestClient) -> None:
    """TRUNCATE chunks locks the chunks, then (its trigger) the postings: a reader that kept
    the postings locked while it waited for the chunks deadlocked with it."""
    uid = zebra_user(client)
    args = {"uid": uid, "key": "pk_chunks", "k": 2, "drift": None}

    def read(conn: Connection) -> int:
        return len(conn.execute(text(TOP_K), args).all())

    with reader_waiting_for("chunks", read) as (ddl, outcome):
        # The reader holds nothing yet: the postings are the DDL's to take.
        ddl.execute(text("LOCK TABLE bm25_postings IN ACCESS EXCLUSIVE MODE NOWAIT"))
    assert outcome == [6]


def test_top_bounds_refuses_an_index_too_new_for_its_snapshot(client: TestClient) -> None:
    """An index built over broken HOT chains (indcheckxmin) holds the newest version's values
    for every version of the chain: a snapshot older than the index must not read it (the
    planner does not), or it reads values its rows never had."""
    engine = db.get_engine()
    read = text("SELECT bound FROM bm25_top_bounds('hot_impact', 1, '{7}', '{1}', '{5}', 5)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as ddl:
        ddl.execute(
            text(
                "CREATE TABLE hot_postings"
                " (user_id int, term bigint, impact real, chunk_id bigint, length int)"
            )
        )
        try:
            ddl.execute(text("INSERT INTO hot_postings VALUES (1, 7, 0.5, 1, 9)"))
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as old:
                old.execute(text("SELECT 1"))  # its snapshot: impact 0.5
                # No index yet: a HOT update, its old version kept for the snapshot above.
                ddl.execute(text("UPDATE hot_postings SET impact = 0.9"))
                ddl.execute(
                    text(
                        "CREATE INDEX hot_impact ON hot_postings (user_id, term, impact DESC)"
                        " INCLUDE (chunk_id, length)"
                    )
                )
                assert ddl.scalar(
                    text(
                        "SELECT indcheckxmin FROM pg_index"
                        " WHERE indexrelid = 'hot_impact'::regclass"
                    )
                )
                assert old.scalar(text("SELECT impact FROM hot_postings")) == 0.5
                with pytest.raises(Exception, match="too new"):
                    old.scalar(read)
            assert ddl.scalar(read) == pytest.approx(0.9)
        finally:
            ddl.execute(text("DROP TABLE hot_postings"))
