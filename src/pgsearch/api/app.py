"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError

from pgsearch import __version__, db
from pgsearch.api.deps import reject_unknown_query_params
from pgsearch.api.errors import install_error_handlers
from pgsearch.api.fast_search import SearchFastPath
from pgsearch.api.limits import BodySizeLimit
from pgsearch.api.routes import documents, embeddings, files, health, keys, me, search, ui, users
from pgsearch.config import get_settings
from pgsearch.embedded import database_running
from pgsearch.embedding import get_embedder
from pgsearch.errors import EmbeddedPostgresError, Unavailable
from pgsearch.schemas import ErrorResponse, UnprocessableResponse
from pgsearch.services.startup import prepare_database

logger = logging.getLogger(__name__)

_error: dict[str, Any] = {"model": ErrorResponse}
# Documented on every operation, so clients (and schema checkers) know what to expect.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_error, "description": "Malformed request"},
    401: {**_error, "description": "Missing or invalid API key (when auth is enabled)"},
    403: {**_error, "description": "The key may not do this"},
    404: {**_error, "description": "Not found (or another user's)"},
    409: {**_error, "description": "Conflicts with stored state"},
    413: {**_error, "description": "Request body too large"},
    422: {"model": UnprocessableResponse, "description": "Invalid input: what to fix"},
    503: {**_error, "description": "Database unavailable or busy; retry after `Retry-After` s"},
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the embedded database if needed, prepare it, and clean up on shutdown."""
    # Threads must outnumber database sessions, so a request holding a connection can always
    # get a thread to finish and give it back.
    threads = anyio.to_thread.current_default_thread_limiter()
    threads.total_tokens = max(threads.total_tokens, app.state.db_slots.total_tokens + 10)
    embedder = get_embedder(get_settings().embedding_model)
    try:
        async with AsyncExitStack() as stack:
            stack.callback(db.dispose)
            stack.enter_context(database_running(db.get_config()))
            try:
                prepare_database(embedder=embedder, say=logger.info)
            except (Unavailable, SQLAlchemyError) as exc:
                # Serve anyway: /health reports the problem and requests get 503 until fixed.
                # Anything else (another model's vectors) stops the start.
                logger.error("database not ready: %s", exc)
            # Load the model now (off the event loop), not in the first user's request.
            await asyncio.to_thread(embedder.embed, ["warm-up"])
            # The search route's connections (api/deps.py), in this loop; closed before the
            # embedded database stops. Not waiting: a database that is down gets 503s.
            pool = db.create_async_pool(db.get_config())
            await pool.open(wait=False)
            stack.push_async_callback(pool.close)
            app.state.read_pool = pool
            yield
    except EmbeddedPostgresError as exc:  # stopping it; starting is handled above
        logger.error("could not stop the embedded database: %s", exc.message)


def create_app() -> FastAPI:
    """Build the application (no I/O happens here)."""
    # FastAPIOffline: /docs and /redoc served from files in a wheel, not a CDN, so the API docs
    # work on a machine without internet like the rest of pgsearch.
    app = FastAPIOffline(
        responses=ERROR_RESPONSES,
        dependencies=[Depends(reject_unknown_query_params)],
        title="pgsearch",
        version=__version__,
        summary="Semantic + keyword search on PostgreSQL and pgvector",
        lifespan=lifespan,
    )
    # Sessions at once (see api/deps.py): the pool's capacity.
    config = db.get_config()
    app.state.db_slots = anyio.CapacityLimiter(config.DB_POOL_SIZE + config.DB_MAX_OVERFLOW)
    install_error_handlers(app)
    # Inside the size limit: a body it has let through is the fast path's to read.
    app.add_middleware(SearchFastPath)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    app.include_router(health.router)
    app.include_router(users.router)
    app.include_router(documents.router)
    app.include_router(files.router)
    app.include_router(search.router)
    app.include_router(keys.router)
    app.include_router(embeddings.router)
    app.include_router(me.router)
    ui.install(app)
    return app
