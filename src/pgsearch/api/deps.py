"""FastAPI dependencies: database session, settings, embedder and who is calling.

Dependencies without blocking I/O are `async def`: a sync one costs a worker-thread hop.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request
from fastapi.concurrency import contextmanager_in_threadpool, run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from pgsearch.config import Settings, get_settings
from pgsearch.db import AsyncConn, AsyncPool, get_db, get_read_db
from pgsearch.embedding import Embedder, get_embedder, get_query_embedder
from pgsearch.errors import Forbidden, InvalidInput, Unauthorized, UserNotFound
from pgsearch.schemas import INT4_MAX, INT8_MAX
from pgsearch.services.keys import key_user_async, verify_key


async def db_session(request: Request) -> AsyncIterator[Session]:
    """`get_db()` for a request, at most one per pooled connection.

    Sync endpoints run in a bounded thread pool. Uncapped, requests waiting for a pooled
    connection take every thread, while the requests that hold connections wait for a thread to
    commit and return them: a deadlock only the pool timeout breaks (503s under load). Waiting
    for a slot here costs no thread.
    """
    limiter: anyio.CapacityLimiter = request.app.state.db_slots
    async with limiter, contextmanager_in_threadpool(contextmanager(get_db)()) as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A `get_read_db()` session (autocommit: no BEGIN/COMMIT round trips) for routes that
    only read, at most one per pooled connection.

    Made and closed on the event loop, without the two thread hops of `db_session`: a session
    connects on first use (in the route's thread), and closing an autocommit connection sends
    nothing to the server.
    """
    limiter: anyio.CapacityLimiter = request.app.state.db_slots
    async with limiter:
        with contextmanager(get_read_db)() as session:
            yield session


async def read_connection(request: Request) -> AsyncIterator[AsyncConn]:
    """An autocommit psycopg connection for statements run on the event loop (the search)."""
    pool: AsyncPool = request.app.state.read_pool
    async with pool.connection() as conn:
        yield conn


# scope="function": commit/rollback happen before the response is sent, so a client is never
# told "created" for a write whose commit then failed.
SessionDep = Annotated[Session, Depends(db_session, scope="function")]
# For routes that only read: each statement commits on its own, so nothing that writes may use it.
ReadSessionDep = Annotated[Session, Depends(read_session, scope="function")]
# Likewise, for statements run with `db.fetch_all` (no thread hop, no session).
ReadConnectionDep = Annotated[AsyncConn, Depends(read_connection, scope="function")]


async def settings() -> Settings:
    """The product settings (async: a sync dependency would take a worker thread)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings)]


async def current_embedder(settings: SettingsDep) -> Embedder:
    """The configured built-in embedding model (loaded on first use)."""
    return get_embedder(settings.embedding_model)


EmbedderDep = Annotated[Embedder, Depends(current_embedder)]


async def query_embedder(settings: SettingsDep) -> Embedder:
    """The configured model for search queries, batching concurrent ones (embedding/batching)."""
    return get_query_embedder(settings.embedding_model)


QueryEmbedderDep = Annotated[Embedder, Depends(query_embedder)]

_bearer = HTTPBearer(auto_error=False, description="The admin key or a user's API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

# PostgreSQL `integer` / `bigint` ids: bounded, so a huge id is a 422, not a database error.
UserIdPath = Annotated[int, Path(ge=1, le=INT4_MAX, description="User id")]
DocumentIdPath = Annotated[int, Path(ge=1, le=INT8_MAX, description="Document id")]
KeyIdPath = Annotated[int, Path(ge=1, le=INT4_MAX, description="Key id")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin (or anyone, with auth off), or one user's key."""

    admin: bool
    user_id: int | None = None


async def _authenticate(
    settings: Settings,
    token: str | None,
    key_user: Callable[[str], Awaitable[int | None]],
) -> Principal:
    if settings.admin_key is None:
        return Principal(admin=True)
    if token is None:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    if hmac.compare_digest(token.encode(), settings.admin_key.get_secret_value().encode()):
        return Principal(admin=True)
    user_id = await key_user(token)
    if user_id is None:
        raise Unauthorized("invalid or revoked API key")
    return Principal(admin=False, user_id=user_id)


def _session_key_user(db: Session) -> Callable[[str], Awaitable[int | None]]:
    async def key_user(token: str) -> int | None:
        key = await run_in_threadpool(verify_key, db, token)
        return None if key is None else key.user_id

    return key_user


# One variant per session kind, so the key is checked on the request's own session: a second
# session would take a second pooled connection while holding the first.
async def principal(settings: SettingsDep, db: SessionDep, credentials: BearerDep) -> Principal:
    """The caller, authenticated on the request's session (everyone is admin with auth off)."""
    return await _authenticate(settings, _token(credentials), _session_key_user(db))


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return None if credentials is None else credentials.credentials


async def read_principal(
    settings: SettingsDep, db: ReadSessionDep, credentials: BearerDep
) -> Principal:
    """`principal` for routes that only read."""
    return await _authenticate(settings, _token(credentials), _session_key_user(db))


async def connection_principal(
    settings: SettingsDep, conn: ReadConnectionDep, credentials: BearerDep
) -> Principal:
    """`principal` for routes that read on an async connection (no session, no thread)."""
    return await _authenticate(
        settings, _token(credentials), functools.partial(key_user_async, conn)
    )


PrincipalDep = Annotated[Principal, Depends(principal)]
ReadPrincipalDep = Annotated[Principal, Depends(read_principal)]
ConnectionPrincipalDep = Annotated[Principal, Depends(connection_principal)]


def _admin(principal: Principal) -> Principal:
    if not principal.admin:
        raise Forbidden("this endpoint needs the admin key")
    return principal


async def require_admin(principal: PrincipalDep) -> Principal:
    """Only the admin key may manage users and issue keys."""
    return _admin(principal)


async def read_require_admin(principal: ReadPrincipalDep) -> Principal:
    """`require_admin` for routes that only read."""
    return _admin(principal)


def _owned(principal: Principal, user_id: int) -> int:
    if not principal.admin and principal.user_id != user_id:
        raise UserNotFound(user_id)  # same answer as a missing user: no enumeration
    return user_id


async def owned_user_id(principal: PrincipalDep, user_id: UserIdPath) -> int:
    """The path's user id, if the caller may reach it; anyone else's is "not found"."""
    return _owned(principal, user_id)


async def read_owned_user_id(principal: ReadPrincipalDep, user_id: UserIdPath) -> int:
    """`owned_user_id` for routes that only read."""
    return _owned(principal, user_id)


async def connection_owned_user_id(principal: ConnectionPrincipalDep, user_id: UserIdPath) -> int:
    """`owned_user_id` for routes that read on an async connection."""
    return _owned(principal, user_id)


async def authorize_connection(
    settings: Settings, conn: AsyncConn, token: str | None, user_id: int
) -> int:
    """`connection_owned_user_id` without FastAPI: the caller's bearer `token` may reach
    `user_id` (the search fast path, api/fast_search.py)."""
    key_user = functools.partial(key_user_async, conn)
    return _owned(await _authenticate(settings, token, key_user), user_id)


def _query_names(request: Request, route: APIRoute) -> frozenset[str]:
    """The query parameters the route and its dependencies declare (worked out once).

    From the route itself, not the OpenAPI description: a route left out of it (the search
    page's) is checked too.
    """
    key = (route.path_format, request.method)
    names = _QUERY_NAMES.get(key)
    if names is None:
        names = frozenset(_declared_query_names(route.dependant))
        _QUERY_NAMES[key] = names
    return names


def _declared_query_names(dependant: Dependant) -> Iterator[str]:
    yield from (p.alias for p in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _declared_query_names(sub)


_QUERY_NAMES: dict[tuple[str, str], frozenset[str]] = {}


async def reject_unknown_query_params(request: Request) -> None:
    """A misspelt query parameter (`?limt=5`) is an error, not silently ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _query_names(request, route)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))}; this endpoint takes: "
            f"{takes}"
        )


AdminDep = Depends(require_admin)
ReadAdminDep = Depends(read_require_admin)
# Declares the `user_id` path parameter once (declaring it in the route too would validate,
# and report errors, twice).
OwnUserId = Annotated[int, Depends(owned_user_id)]
ReadOwnUserId = Annotated[int, Depends(read_owned_user_id)]
ConnectionOwnUserId = Annotated[int, Depends(connection_owned_user_id)]
