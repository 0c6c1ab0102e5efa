"""Database layer: import without side effects, init_database, adoption, get_db."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Integer, String, bindparam, create_engine, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.migrations import current_revision
from pgsearch.models import User
from tests.helpers import new_database


def _head() -> str:
    from alembic.script import ScriptDirectory

    from pgsearch.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_textbook_names_importable(pg_config: DatabaseConfig) -> None:
    from pgsearch.db import SessionLocal, engine

    assert engine is db.get_engine()
    session = SessionLocal()
    assert session.expire_on_commit is False
    session.close()


def test_init_database_is_idempotent(
    pg_config: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    db.init_database()
    db.init_database()
    out = capsys.readouterr().out
    assert "✓ pgvector extension enabled" in out
    assert "Database initialization completed!" in out
    with db.get_engine().connect() as conn:
        assert current_revision(conn) == _head()
        assert conn.scalar(text("SELECT count(*) FROM pg_extension WHERE extname='vector'")) == 1


def test_adopts_textbook_create_all_database(pg_config: DatabaseConfig) -> None:
    cfg = new_database(pg_config, "textbook")

    class TextbookBase(DeclarativeBase):
        pass

    class TextbookUser(TextbookBase):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    engine = create_engine(cfg.sync_db_url())
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        TextbookBase.metadata.create_all(bind=engine)
        with Session(engine) as s:
            s.add(TextbookUser(name="kept"))
            s.commit()
        db.init_database(engine=engine, echo=lambda _: None)
        db.init_database(engine=engine, echo=lambda _: None)
        with Session(engine) as s:
            assert [u.name for u in s.scalars(select(User))] == ["kept"]
            s.add(User(name="new"))  # the adopted table keeps working with the ORM model
            s.commit()
        assert "alembic_version" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert current_revision(conn) == _head()
    finally:
        engine.dispose()


def test_get_db_commits_rolls_back_and_closes(pg_config: DatabaseConfig) -> None:
    gen = db.get_db()
    session = next(gen)
    session.add(User(name="committed"))
    with pytest.raises(StopIteration):
        next(gen)
    assert not session.in_transaction()

    gen = db.get_db()
    session = next(gen)
    session.add(User(name="rolled back"))
    session.flush()
    with pytest.raises(RuntimeError):
        gen.throw(RuntimeError("handler failed"))
    with db.get_sessionmaker()() as check:
        assert [u.name for u in check.scalars(select(User))] == ["committed"]


def test_read_sessions_autocommit_and_give_back_transactional_connections(
    pg_config: DatabaseConfig,
) -> None:
    """get_read_db runs statements in autocommit on the shared pool; the next writer's
    connection (the very same one, with a pool of one) is transactional again."""
    db.configure(pg_config.model_copy(update={"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0}))
    try:
        reads = db.get_read_db()
        session = next(reads)
        raw = session.connection().connection.dbapi_connection
        assert raw is not None and raw.autocommit
        assert session.scalar(select(User.id)) is None
        with pytest.raises(StopIteration):
            next(reads)

        writes = db.get_db()
        session = next(writes)
        assert session.connection().connection.dbapi_connection is raw
        assert not raw.autocommit
        session.add(User(name="rolled back"))
        session.flush()
        with pytest.raises(RuntimeError):
            writes.throw(RuntimeError("handler failed"))
        with db.get_sessionmaker()() as check:
            assert check.scalar(select(User.id)) is None
    finally:
        db.configure(pg_config)


@pytest.mark.parametrize("prepared", [True, False])
def test_prepared_statements_can_be_turned_off(pg_config: DatabaseConfig, prepared: bool) -> None:
    """DB_PREPARED_STATEMENTS=false (PgBouncer in transaction mode): nothing is prepared, on
    the engine's connections or on the search route's async pool."""
    config = pg_config.model_copy(update={"DB_PREPARED_STATEMENTS": prepared})
    statement = select(User.id).where(User.id == bindparam("user_id"))
    count = "SELECT count(*) FROM pg_prepared_statements"
    db.configure(config)
    try:
        with db.get_engine().connect() as conn:
            for _ in range(db.PREPARE_THRESHOLD + 1):
                conn.execute(statement, {"user_id": 1})
            assert (conn.scalar(text(count)) > 0) is prepared

        async def on_the_pool() -> int:
            async with db.create_async_pool(config) as pool, pool.connection() as aconn:
                for _ in range(db.PREPARE_THRESHOLD + 1):
                    await db.fetch_all(aconn, statement, {"user_id": 1})
                cursor = await aconn.execute(count)
                row = await cursor.fetchone()
                assert row is not None
                return int(row[0])

        assert (asyncio.run(on_the_pool()) > 0) is prepared
    finally:
        db.configure(pg_config)


def test_connections_carry_the_search_settings(pg_config: DatabaseConfig) -> None:
    """Every connection, of the engine and of the search route's pool, has pgsearch's server
    settings from the moment it opens (no SET per request)."""
    expected = {"plan_cache_mode": "force_generic_plan", "jit": "off"}
    expected["hnsw.iterative_scan"] = "relaxed_order"

    def shown(rows: list[tuple[str]]) -> dict[str, str]:
        return dict(zip(expected, (r[0] for r in rows), strict=True))

    with db.get_engine().connect() as conn:
        rows = [(conn.scalar(text(f"SHOW {name}")),) for name in expected]
    assert shown(rows) == expected

    async def on_the_pool() -> list[tuple[str]]:
        async with db.create_async_pool(pg_config) as pool, pool.connection() as aconn:
            found = []
            for name in expected:
                row = await (await aconn.execute(f"SHOW {name}")).fetchone()
                assert row is not None
                found.append((str(row[0]),))
            return found

    assert shown(asyncio.run(on_the_pool())) == expected


def test_read_pool_hands_out_the_connection_returned_last(pg_config: DatabaseConfig) -> None:
    """The search pool reuses its most recently returned connection (a warm backend), not the
    one idle the longest: one client's searches stay on one backend process."""

    async def handed_out() -> tuple[list[int], int]:
        async with db.create_async_pool(pg_config) as pool:
            conns = [await pool.getconn() for _ in range(3)]
            pids = [c.info.backend_pid for c in conns]
            for conn in conns:
                await pool.putconn(conn)
            again = [await pool.getconn() for _ in range(2)]
            for conn in again:
                await pool.putconn(conn)
            after = await pool.getconn()
            await pool.putconn(after)
            return pids, after.info.backend_pid

    pids, last = asyncio.run(handed_out())
    assert last == pids[1]  # put back last of the second round; in turn would give pids[2]
