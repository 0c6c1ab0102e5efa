"""Migrations: static (no runtime settings), and upgrade → downgrade → upgrade on data."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder
from pgsearch.migrations import alembic_config, current_revision, head_revision, upgrade_to_head
from pgsearch.models import User
from pgsearch.schemas import DocumentCreate, SearchRequest
from pgsearch.services.documents import store_documents
from pgsearch.services.index import check_model
from pgsearch.services.search import search
from tests.helpers import DIM, new_database, unit

_TYPMOD = (
    "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'chunks'::regclass"
    " AND attname = 'embedding'"
)


@pytest.fixture
def fresh_engine(pg_config: DatabaseConfig) -> Iterator[Engine]:
    """An engine on a new, empty database of the session's server."""
    engine = db.create_db_engine(new_database(pg_config, "migrations_roundtrip"))
    yield engine
    engine.dispose()


def _store_and_search(engine: Engine, external_id: str) -> list[str]:
    embedder = get_embedder("minilm")
    with Session(engine) as session, session.begin():
        check_model(session, embedder)
        user = session.scalar(select(User).where(User.name == "kept"))
        if user is None:
            user = User(name="kept")
            session.add(user)
            session.flush()
        doc = DocumentCreate(
            text=f"text of {external_id}",
            external_id=external_id,
            chunks=[{"text": f"text of {external_id}", "embedding": unit(1)}],
        )
        store_documents(session, user_id=user.id, docs=[doc], embedder=embedder, dim=DIM)
        request = SearchRequest(vector=unit(1), mode="semantic", k=10)
        hits = search(session, user_id=user.id, request=request, embedder=embedder).results
        return sorted(hit.external_id or "" for hit in hits)


def _vector_index_exists(engine: Engine) -> bool:
    names = {ix["name"] for ix in inspect(engine).get_indexes("chunks")}
    return "ix_chunks_embedding_hnsw" in names


def test_upgrade_downgrade_upgrade_keeps_working_with_data(fresh_engine: Engine) -> None:
    db.init_database(engine=fresh_engine, echo=lambda _: None)
    assert _store_and_search(fresh_engine, "a") == ["a"]
    assert _vector_index_exists(fresh_engine)
    with fresh_engine.connect() as conn:
        dim = conn.scalar(text(_TYPMOD))
    assert dim == DIM  # set when the model was first recorded, not by the migration

    # Down to the first revision: the users table and its rows stay.
    with fresh_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    assert "documents" not in inspect(fresh_engine).get_table_names()
    with Session(fresh_engine) as session:
        assert session.scalars(select(User.name)).all() == ["kept"]

    with fresh_engine.begin() as conn:
        assert upgrade_to_head(conn) == head_revision()
    assert _store_and_search(fresh_engine, "b") == ["b"]
    assert _vector_index_exists(fresh_engine)

    # All the way down and up again.
    with fresh_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
        assert current_revision(conn) is None
    db.init_database(engine=fresh_engine, echo=lambda _: None)
    assert _store_and_search(fresh_engine, "c") == ["c"]


def test_migrations_do_not_read_runtime_settings(
    fresh_engine: Engine, settings_env: Callable[..., None]
) -> None:
    # A model setting that would size the vector column differently must not matter.
    settings_env(PGSEARCH_EMBEDDING_MODEL="wordllama")
    with fresh_engine.begin() as conn:
        upgrade_to_head(conn)
        typmod = conn.scalar(text(_TYPMOD))
    assert typmod == -1  # no dimension until a model is recorded


def test_vector_dimension_follows_the_first_recorded_model(fresh_engine: Engine) -> None:
    db.init_database(engine=fresh_engine, echo=lambda _: None)
    with Session(fresh_engine) as session, session.begin():
        check_model(session, get_embedder("wordllama"))
    with fresh_engine.connect() as conn:
        typmod = conn.scalar(text(_TYPMOD))
    assert typmod == get_embedder("wordllama").dim
    assert _vector_index_exists(fresh_engine)
    with fresh_engine.connect() as conn:
        storage = conn.scalar(
            text(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'chunks'::regclass"
                " AND attname = 'embedding'"
            )
        )
    assert storage == "m"  # a new type resets storage; the vector must stay in the row


def test_vectors_and_tsvectors_stay_in_the_row(fresh_engine: Engine) -> None:
    db.init_database(engine=fresh_engine, echo=lambda _: None)
    with fresh_engine.connect() as conn:
        options = conn.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'chunks'"))
    assert "autovacuum_analyze_scale_factor=0.02" in options
    # A chunk too large for the 2 kB row target: its text goes out of line, not the vector
    # (exact scans) nor the tsvector (keyword re-scoring), each a TOAST look-up per chunk read.
    rng = np.random.default_rng(0)
    words = " ".join("w" + "".join(rng.choice(list("abcdefghij"), 7)) for _ in range(300))
    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, name) VALUES (1, 'u')"))
        conn.execute(
            text(
                "INSERT INTO documents (id, user_id, text, content_hash, chunk_count)"
                " OVERRIDING SYSTEM VALUE VALUES (1, 1, :t, 'h', 1)"
            ),
            {"t": words},
        )
        conn.execute(
            text(
                "INSERT INTO chunks (document_id, user_id, chunk_index, text, embedding)"
                " VALUES (1, 1, 0, :t, :v)"
            ),
            {"t": words, "v": str(unit(1))},
        )
        outside = conn.execute(
            text(
                "SELECT pg_column_toast_chunk_id(text) IS NOT NULL,"
                " pg_column_toast_chunk_id(embedding) IS NOT NULL,"
                " pg_column_toast_chunk_id(tsv) IS NOT NULL FROM chunks"
            )
        ).one()
    assert tuple(outside) == (True, False, False)


def _tsvs(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.external_id, c.tsv::text FROM chunks c"
                " JOIN documents d ON d.id = c.document_id"
            )
        ).all()
    return {str(k): str(v) for k, v in rows}


def _postings_match_tsv(engine: Engine) -> bool:
    """BM25 postings are exactly the chunks' lexemes (as tests/db/test_bm25.py recounts)."""
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT chunk_id, term, tf FROM bm25_postings ORDER BY 1, 2")
        ).all()
        recount = conn.execute(
            text(
                "SELECT c.id, hashtextextended(u.lexeme, 0), cardinality(u.positions)"
                " FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u ORDER BY 1, 2"
            )
        ).all()
    return stored == recount


def test_languages_migration_keeps_english_rows_and_round_trips(fresh_engine: Engine) -> None:
    embedder = get_embedder("minilm")
    with fresh_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005")
        conn.execute(text("INSERT INTO users (name) VALUES ('old')"))
        conn.execute(
            text(
                "INSERT INTO documents (user_id, external_id, text, content_hash, chunk_count)"
                " VALUES (1, 'old', 'Running databases', 'h', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO chunks (document_id, user_id, chunk_index, text, embedding)"
                " VALUES (1, 1, 0, 'Running databases', :v)"
            ),
            {"v": str(unit(1))},
        )
    before = _tsvs(fresh_engine)
    assert before == {"old": "'databas':2 'run':1"}

    db.init_database(engine=fresh_engine, echo=lambda _: None)
    assert _tsvs(fresh_engine) == before  # existing rows keep the English analysis
    with fresh_engine.connect() as conn:
        assert conn.scalar(text("SELECT language FROM documents")) == "en"

    def keyword(query: str) -> list[str]:
        with Session(fresh_engine) as session:
            request = SearchRequest(query=query, mode="keyword", k=10)
            hits = search(session, user_id=1, request=request, embedder=embedder).results
        return sorted(hit.external_id or "" for hit in hits)

    assert keyword("database") == ["old"]
    with Session(fresh_engine) as session, session.begin():
        doc = DocumentCreate(
            text="데이터베이스를 백업한다",
            external_id="ko",
            chunks=[{"text": "데이터베이스를 백업한다", "embedding": unit(2)}],
        )
        store_documents(session, user_id=1, docs=[doc], embedder=embedder, dim=DIM)
    assert keyword("데이터베이스") == ["ko"]
    assert _postings_match_tsv(fresh_engine)

    # 0006 kept the analyzers each user's chunks were made with; going back re-makes them.
    with fresh_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
        used = conn.execute(text("SELECT user_id, analyzer, config::text FROM user_analyzers"))
        assert sorted(used.all()) == [(1, "english", "english"), (1, "korean", "english")]

    # Down: every chunk analysed as English again, postings re-made for the Korean one.
    with fresh_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
    assert _tsvs(fresh_engine) == before | {"ko": "'데이터베이스를':1 '백업한다':2"}
    assert _postings_match_tsv(fresh_engine)
    with fresh_engine.connect() as conn:
        assert (
            conn.scalar(
                text(
                    "SELECT attgenerated FROM pg_attribute WHERE attrelid ="
                    " 'chunks'::regclass AND attname = 'tsv'"
                )
            )
            == "s"
        )

    with fresh_engine.begin() as conn:
        assert upgrade_to_head(conn) == head_revision()
    assert keyword("database") == ["old"]
    assert keyword("데이터베이스를") == ["ko"]  # as English sees it, until stored again
    assert _postings_match_tsv(fresh_engine)
