"""Database layer: `engine`, `SessionLocal`, `get_db()` and `init_database()`.

Nothing here connects at import: the engine and session factory are created on first use
(`pgsearch.db.engine` is a lazily built module attribute), so importing is cheap and tests can
point pgsearch at their own server with `configure()` before anything touches the database.
"""

from __future__ import annotations

import copy
import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from pgvector.psycopg import register_vector, register_vector_async
from psycopg.rows import namedtuple_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from pydantic_core import from_json
from sqlalchemy import Connection, Engine, Select, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from pgsearch.config import DatabaseConfig, get_db_config, get_settings
from pgsearch.errors import DatabaseInitError
from pgsearch.native import EXTENSION

_lock = threading.Lock()
_config: DatabaseConfig | None = None
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_read_sessionmaker: sessionmaker[Session] | None = None


def create_db_engine(config: DatabaseConfig) -> Engine:
    """An engine with a bounded pool whose idle connections are pinged; creating it does not
    connect."""
    engine = create_engine(
        config.db_url(),
        echo=config.DEBUG,
        # Hot connections first: the ones used a moment ago are the ones not worth pinging.
        pool_use_lifo=True,
        pool_size=config.DB_POOL_SIZE,
        max_overflow=config.DB_MAX_OVERFLOW,
        pool_timeout=config.DB_POOL_TIMEOUT,
        # Bound parameters may be users' documents: keep them out of error messages and logs.
        hide_parameters=not config.DEBUG,
        connect_args=_connect_args(config),
    )
    event.listen(engine, "connect", _register_vector)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "checkout", functools.partial(_on_checkout, engine.dialect))
    return engine


# A pooled connection idle longer than this is pinged before use (a server restart or an idle
# timeout may have closed it); one used more recently is not: under load that skips a round
# trip per request, which `pool_pre_ping` would spend on every checkout.
PING_AFTER_IDLE_S = 1.0


def _mark_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _on_checkout(
    dialect: Dialect, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
) -> None:
    if not record.info.get("vector_registered"):
        _register_vector(dbapi_connection, record)  # made before the extension existed
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        raise DisconnectionError(str(exc)) from exc  # the pool retries with a new connection
    if not alive:
        raise DisconnectionError("connection failed its ping")


def _register_vector(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """pgvector's types on every new connection: numpy vectors bind in binary, vectors load as
    numpy arrays, whoever uses the session (service, CLI, bench, tests).

    A connection made before the extension existed (this process or another one creates it at
    start) has nothing to register yet; it tries again at each checkout until it succeeds.
    """
    try:
        register_vector(dbapi_connection)
    except psycopg.ProgrammingError:
        return  # no `vector` type yet
    record.info["vector_registered"] = True


# psycopg's default: a statement is prepared on its fifth run on a connection.
PREPARE_THRESHOLD = 5


def _connect_args(config: DatabaseConfig) -> dict[str, Any]:
    """psycopg connection arguments shared by the engine and the async pool."""
    return {
        "options": _session_options(config),
        "application_name": "pgsearch",
        "prepare_threshold": PREPARE_THRESHOLD if config.DB_PREPARED_STATEMENTS else None,
    }


def _session_options(config: DatabaseConfig) -> str:
    """Server settings for every pooled connection (set at connect: no round trip per query)."""
    options = session_settings(config)
    return " ".join(f"-c {name}={value}" for name, value in options.items())


def session_settings(config: DatabaseConfig) -> dict[str, str]:
    """The server settings of pgsearch's connections (benches set them on their own)."""
    return {
        "statement_timeout": str(config.DB_STATEMENT_TIMEOUT_MS),
        # Iterative HNSW scans (pgvector >= 0.8) continue until enough rows pass a filter;
        # without them a selective filter silently returns fewer than k results.
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.ef_search": str(get_settings().hnsw_ef_search),
        # psycopg prepares a statement after 5 runs on a connection; from then on it runs a
        # plan made once. The search statements leave the planner one access path each (see
        # search/query.semantic_candidates, search/bm25.py), so a plan for the values at hand
        # is no better, and planning each execution anew cost more server CPU than running
        # many of them (README, Search speed). Statements with a metadata filter are never
        # prepared, so planned for their values (search/query._build).
        "plan_cache_mode": "force_generic_plan",
        # A search statement runs in milliseconds, and a server built with LLVM compiles any
        # statement estimated above jit_above_cost first, which takes tens of milliseconds.
        "jit": "off",
    }


# -- async reads: the search route on the event loop -------------------------------------------
# A search is one or two statements. Run through a sync session they cost a worker-thread hop
# and SQLAlchemy's per-execution work (session, cache key, result processing), together more
# Python time than the API spends on anything else (bench/peers.py). Statements are still built
# with SQLAlchemy, compiled once each, and run on a psycopg async connection.

AsyncConn = psycopg.AsyncConnection[Any]
AsyncPool = AsyncConnectionPool[AsyncConn]

# When each pooled async connection was last given back (see _ping_if_idle).
_returned: weakref.WeakKeyDictionary[AsyncConn, float] = weakref.WeakKeyDictionary()


async def _configure_async(conn: AsyncConn) -> None:
    # JSON values (metadata) parsed by pydantic-core: the same values as `json.loads` gives
    # for any JSON PostgreSQL writes, in a fraction of the time.
    set_json_loads(from_json, conn)
    await register_vector_async(conn)  # before the extension exists this fails: pool retries


async def _ping_if_idle(conn: AsyncConn) -> None:
    """At checkout: ping a connection idle longer than PING_AFTER_IDLE_S (as `_on_checkout`)."""
    returned = _returned.get(conn)
    if returned is None or time.monotonic() - returned >= PING_AFTER_IDLE_S:
        await AsyncConnectionPool.check_connection(conn)


class _ReadPool(AsyncConnectionPool[AsyncConn]):
    """Hands out the connection given back last, and notes when each comes back.

    psycopg_pool hands its idle connections out in turn, so each search went to the backend
    process idle the longest, whose caches had gone cold meanwhile: PostgreSQL spent more CPU
    per search (bench/peers.py), most at one client, where every connection of a pool grown
    by an earlier burst took its turn. Last in, first out keeps the work on the fewest
    backends, and leaves the others idle for the pool to close (it closes the oldest).

    The return time is for `_ping_if_idle`; noted here rather than in the pool's `reset`
    callback: with one, psycopg_pool hands every returned connection to a worker task, two
    more event-loop hops per request, and a request arriving before the task ran found the
    pool empty and grew it.
    """

    async def _get_ready_connection(self, timeout: float | None) -> AsyncConn | None:
        # The pool's own choice (the oldest, `popleft`) with its bookkeeping, swapped for the
        # newest: psycopg_pool has no option for the order.
        conn = await super()._get_ready_connection(timeout)
        if conn is not None and self._pool:
            self._pool.appendleft(conn)
            conn = self._pool.pop()
        return conn

    async def putconn(self, conn: AsyncConn) -> None:
        _returned[conn] = time.monotonic()
        await super().putconn(conn)


def search_pool_size(config: DatabaseConfig) -> int:
    """The search route's connections per process: `DB_SEARCH_POOL_SIZE`, else about as many
    as can run at once (PostgreSQL's rule of thumb: twice the cores).

    One event loop sends every search; more connections than that do not answer more of them,
    only spread them over more backend processes that take turns on the cores, each with cold
    caches: PostgreSQL spent more CPU per search with 20 than with 4 on 2 cores
    (bench/peers.py, 16 clients).
    """
    if config.DB_SEARCH_POOL_SIZE is not None:
        return config.DB_SEARCH_POOL_SIZE
    return min(config.DB_POOL_SIZE, max(4, 2 * (os.cpu_count() or 1)))


def create_async_pool(config: DatabaseConfig) -> AsyncPool:
    """A psycopg pool of autocommit connections for reads on the event loop; not yet open
    (`await pool.open()` in a running loop). Same server options as the engine's connections."""
    return _ReadPool(
        config.db_url(driver="postgresql").render_as_string(hide_password=False),
        kwargs={"autocommit": True, **_connect_args(config)},
        min_size=1,
        max_size=search_pool_size(config),
        timeout=config.DB_POOL_TIMEOUT,
        configure=_configure_async,
        check=_ping_if_idle,
        name="pgsearch-reads",
        open=False,
    )


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """A statement's SQL with PostgreSQL's own placeholders ($1, $2, …), and how to turn values
    into its parameters, in order."""

    sql: str
    names: tuple[str, ...]  # the parameter of each placeholder
    defaults: Mapping[str, Any]  # values fixed when the statement was built (`pos = 1`)
    processors: Mapping[str, Callable[[Any], Any]]  # e.g. JSONB values wrapped for psycopg
    # False: never prepared, so planned for its values at every execution (the statement's
    # `plan_each_execution` option); None: psycopg prepares it after a few runs (generic plan).
    prepare: bool | None = None

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters: `values` by name, else the built-in value."""
        out = [values[n] if n in values else self.defaults[n] for n in self.names]
        for i, name in enumerate(self.names):
            process = self.processors.get(name)
            if process is not None:
                out[i] = process(out[i])
        return out


@functools.lru_cache(maxsize=2048)
def compile_statement(stmt: Select[*tuple[Any, ...]]) -> CompiledStatement:
    """Compile a statement built once and reused (by identity: see search/query.py) for psycopg.

    With `$n` placeholders, run by a raw cursor: psycopg rewrites `%(name)s` placeholders on
    every execution of a statement over 4 kB (it caches only shorter ones), and the keyword
    and hybrid statements are twice that: the rewrite cost more Python time than the rest of
    the search's.
    """
    dialect = copy.copy(get_engine().dialect)
    dialect.paramstyle, dialect.positional = "numeric_dollar", True
    compiled = stmt.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise TypeError("statements with expanding (IN) parameters cannot be precompiled")
    defaults: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        defaults[name] = None if bind.callable else bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    names = tuple(compiled.positiontup or ())
    prepare = False if stmt.get_execution_options().get("plan_each_execution") else None
    return CompiledStatement(compiled.string, names, defaults, processors, prepare)


async def fetch_all(
    conn: AsyncConn, stmt: Select[*tuple[Any, ...]], values: Mapping[str, Any]
) -> list[Any]:
    """Run `stmt` with `values` on an async connection; rows are named tuples."""
    compiled = compile_statement(stmt)
    cursor = psycopg.AsyncRawCursor(conn, row_factory=namedtuple_row)
    await cursor.execute(compiled.sql, compiled.parameters(values), prepare=compiled.prepare)
    return await cursor.fetchall()


def fetch_all_sync(
    conn: psycopg.Connection[Any], stmt: Select[*tuple[Any, ...]], values: Mapping[str, Any]
) -> list[Any]:
    """`fetch_all` on a session's connection (`driver_connection`)."""
    compiled = compile_statement(stmt)
    cursor = psycopg.RawCursor(conn, row_factory=namedtuple_row)
    cursor.execute(compiled.sql, compiled.parameters(values), prepare=compiled.prepare)
    return cursor.fetchall()


def configure(config: DatabaseConfig | None = None) -> Engine:
    """(Re)build `engine` and `SessionLocal` for `config` (default: the environment)."""
    global _config, _engine, _sessionmaker, _read_sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _config = config or get_db_config()
        _engine = create_db_engine(_config)
        _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
        # Same pool; each statement commits on its own (see get_read_db).
        autocommit = _engine.execution_options(isolation_level="AUTOCOMMIT")
        _read_sessionmaker = sessionmaker(bind=autocommit, expire_on_commit=False)
        return _engine


def get_config() -> DatabaseConfig:
    """The settings the engine was (or will be) built from."""
    return _config if _config is not None else get_db_config()


def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    return _engine if _engine is not None else configure()


def get_sessionmaker() -> sessionmaker[Session]:
    """The process-wide session factory (`SessionLocal`)."""
    if _sessionmaker is None:
        configure()
    assert _sessionmaker is not None
    return _sessionmaker


def get_read_sessionmaker() -> sessionmaker[Session]:
    """Sessions whose statements run in autocommit, for work that only reads."""
    if _read_sessionmaker is None:
        configure()
    assert _read_sessionmaker is not None
    return _read_sessionmaker


def dispose() -> None:
    """Close every pooled connection (on shutdown, or before the server goes away)."""
    if _engine is not None:
        _engine.dispose()


def __getattr__(name: str) -> Any:
    # PEP 562: the textbook names stay importable without building anything at import time.
    if name == "engine":
        return get_engine()
    if name == "SessionLocal":
        return get_sessionmaker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_db() -> Generator[Session, None, None]:
    """One session per request: committed on success, rolled back on error, always closed."""
    db = get_sessionmaker()()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


def get_read_db() -> Generator[Session, None, None]:
    """`get_db()` for requests that only read (a search, a GET): always closed, never written.

    Its statements run in autocommit, so one costs one round trip instead of three (BEGIN, the
    statement, COMMIT): the work of a search is a single statement, and the few reads around it
    (key check, user look-up) need no common snapshot. Nothing that writes may use it: each
    write would commit on its own.
    """
    db = get_read_sessionmaker()()
    try:
        yield db
    finally:
        db.close()


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under `conn` (for COPY, which SQLAlchemy does not wrap)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def init_database(
    *, engine: Engine | None = None, echo: Callable[[str], None] | None = None
) -> None:
    """Enable pgvector and migrate the schema to the newest revision (idempotent)."""
    from pgsearch.migrations import upgrade_to_head

    # Like the textbook script, progress goes to stdout unless the caller routes it elsewhere.
    say = echo if echo is not None else print  # noqa: T201
    eng = engine or get_engine()
    say("Initializing database...")
    try:
        with eng.begin() as conn:
            existed = conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
            if not existed:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except SQLAlchemyError as exc:
        raise DatabaseInitError(
            f"could not enable the pgvector extension: {short_error(exc)}"
        ) from exc
    say("✓ pgvector extension enabled")
    say(_enable_native(eng))
    try:
        with eng.begin() as conn:
            revision = upgrade_to_head(conn)
    except SQLAlchemyError as exc:
        raise DatabaseInitError(f"could not migrate the schema: {short_error(exc)}") from exc
    say(f"✓ schema up to date (revision {revision})")
    say("Database initialization completed!")


def _enable_native(eng: Engine) -> str:
    """Create pgsearch's C extension where the server has it (see pgsearch.native)."""
    try:
        with eng.begin() as conn:
            versions = conn.execute(
                text(
                    "SELECT installed_version, default_version FROM pg_available_extensions"
                    " WHERE name = :name"
                ),
                {"name": EXTENSION},
            ).first()
            if versions is None:
                return f"- {EXTENSION} not on the server: keyword search runs its SQL form"
            installed, default = versions
            if installed is None:
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}"))
            elif installed != default:
                # A newer pgsearch's version: its update script (pgsearch_bm25--A--B.sql).
                conn.execute(text(f"ALTER EXTENSION {EXTENSION} UPDATE"))
    except SQLAlchemyError as exc:
        return f"- {EXTENSION} not enabled ({short_error(exc)}): keyword search runs its SQL form"
    return f"✓ {EXTENSION} extension enabled"


def short_error(exc: SQLAlchemyError) -> str:
    """A driver error on one line, without SQLAlchemy's boilerplate (SQL, parameters, links)."""
    orig = getattr(exc, "orig", None)
    message = " ".join(str(orig or exc).split())
    return message if len(message) <= 300 else message[:297] + "..."
