"""The search route's usual request, answered without FastAPI's routing and dependency solving.

Routing, dependency resolution and body handling cost the API about as much CPU per search as
the search itself (bench/peers.py). This middleware answers `POST /users/{id}/search` when the
request is the usual kind (a JSON body with its length, no query string), with the route's own
parts: the same connection pool, key check, request model, service and response. A request it
does not take, or one whose body the model rejects, goes on to the route unchanged, so every
other answer (422 details, 413, 400) comes from the one place that defines it. Errors raised
where the route would raise them (pool, key, user, search) get the app's exception handlers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from pydantic_core import from_json
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pgsearch.api.deps import authorize_connection
from pgsearch.config import get_settings
from pgsearch.db import AsyncPool
from pgsearch.embedding import get_query_embedder
from pgsearch.schemas import INT4_MAX, SearchRequest
from pgsearch.services.search import search_async

_PATH = re.compile(r"/users/([1-9][0-9]{0,9})/search")

Handler = Callable[[Request, Exception], Awaitable[Response]]


class SearchFastPath:
    """Answer the usual search request directly; pass anything else to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user_id = _usual_search(scope)
        if user_id is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = await _read_body(receive, messages)
        replay = _replaying(messages, receive)
        data = _json(body) if body is not None else None
        if data is None:
            await self.app(scope, replay, send)
            return
        app: FastAPI = scope["app"]
        response = await _answer(app, scope, user_id, data, replay)
        if response is None:
            await self.app(scope, replay, send)
            return
        await response(scope, replay, send)


def _json(body: bytes) -> object:
    """The body parsed as the route parses it (`json.loads`); None if it is not JSON.

    pydantic-core's parser first: five times faster on a vector's numbers, and the same values
    wherever it accepts the text. What it refuses (a BOM, a lone surrogate) `json.loads` decides.
    """
    try:
        return from_json(body)
    except ValueError:
        pass
    try:
        return json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the route words the error
        return None


def _usual_search(scope: Scope) -> int | None:
    """The path's user id if this is a search request the fast path takes, else None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["query_string"]:
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None or scope.get("root_path"):
        return None
    app = scope.get("app")
    if not isinstance(app, FastAPI) or app.dependency_overrides:
        return None  # tests that swap dependencies get the route they configured
    if getattr(app.state, "read_pool", None) is None:
        return None  # no lifespan (yet): the route reports it
    user_id = int(match[1])
    if user_id > INT4_MAX:
        return None
    content_type = length = None
    for name, value in scope["headers"]:
        # The first of repeated headers counts, as Starlette reads them.
        if name == b"content-type" and content_type is None:
            content_type = value
        elif name == b"content-length" and length is None:
            length = value
    # A chunked body is watched by the size limit while it streams: left to the route.
    if content_type != b"application/json" or length is None:
        return None
    return user_id


async def _read_body(receive: Receive, messages: list[Message]) -> bytes | None:
    """The whole body (None if the client went away), keeping the messages for a replay."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out `messages` again, then the client's next ones."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _answer(
    app: FastAPI, scope: Scope, user_id: int, data: object, receive: Receive
) -> Response | None:
    """The route's answer, in the route's order of checks; None where the route must answer."""
    settings = get_settings()
    pool: AsyncPool = app.state.read_pool
    try:
        async with pool.connection() as conn:
            await authorize_connection(settings, conn, _bearer_token(scope), user_id)
            try:
                request = SearchRequest.model_validate(data)
            except ValidationError:
                return None
            embedder = get_query_embedder(settings.embedding_model)
            result = await search_async(conn, user_id=user_id, request=request, embedder=embedder)
    except Exception as exc:
        handler = _handler(app, exc)
        if handler is None:
            raise
        return await handler(Request(scope, receive), exc)
    return search_response(result.model_dump_json())


def search_response(body: str) -> Response:
    """A search's JSON answer (the route's too)."""
    return Response(body, media_type="application/json")


def _bearer_token(scope: Scope) -> str | None:
    """The `Authorization: Bearer` credentials, read as FastAPI's HTTPBearer reads them."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, credentials = get_authorization_scheme_param(value.decode("latin-1"))
            if scheme.lower() != "bearer" or not credentials:
                return None
            return credentials
    return None


def _handler(app: FastAPI, exc: Exception) -> Handler | None:
    """The app's handler for `exc`, looked up by class as Starlette does."""
    for cls in type(exc).__mro__:
        if cls is Exception:  # a handler for it answers 500s, outside this middleware
            return None
        handler = app.exception_handlers.get(cls)
        if handler is not None:
            return handler  # type: ignore[return-value]
    return None
