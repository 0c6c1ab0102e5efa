"""Turn domain and database errors into HTTP responses (one place, no 500s for known cases)."""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pgsearch.errors import PgsearchError, Unavailable

logger = logging.getLogger(__name__)


def _render(exc: PgsearchError) -> JSONResponse:
    headers = dict(exc.headers) if exc.headers else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PgsearchError)
    return _render(exc)


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("connection pool exhausted: %s %s", request.method, request.url.path)
    return _render(Unavailable("database busy: no free connection, retry shortly"))


async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return _render(Unavailable("database unavailable, retry shortly"))


async def _dbapi_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await _db_unavailable(request, exc)
    raise exc


def _safe_input(value: Any) -> Any:
    """Echo small, JSON-safe inputs only: not a 1 MB text, not NaN (which JSON cannot carry)."""
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    return None


class _AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: an echoed input may hold a lone surrogate
    ("\\ud800"), which has no UTF-8 form, so the default rendering would fail with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    json_sent = "json" in request.headers.get("content-type", "")
    for err in exc.errors():
        item: dict[str, Any] = {"type": err["type"], "loc": list(err["loc"]), "msg": err["msg"]}
        if tuple(err["loc"]) == ("body",) and not json_sent:
            # Without the header FastAPI does not parse the body as JSON at all.
            item["msg"] += "; send the body as JSON with `Content-Type: application/json`"
        if "input" in err and (safe := _safe_input(err["input"])) is not None:
            item["input"] = safe
        if "ctx" in err:
            ctx = err["ctx"].items()
            item["ctx"] = {k: v if isinstance(v, int | str) else str(v) for k, v in ctx}
        errors.append(item)
    return _AsciiJSONResponse({"detail": errors}, status_code=422)


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's own message ("There was an error parsing the body") says nothing to fix.
        detail = "request body is not UTF-8: send JSON encoded as UTF-8"
        return JSONResponse({"detail": detail}, status_code=400)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    # Starlette's Allow lists the methods of the first route matching the path only; a path
    # served by several routes (GET and POST /users) must list them all.
    # The documented paths are the truth; "/documents/batch" also fits "/documents/{id}", so the
    # most literal template (fewest parameters) is the resource that was meant.
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    matching = [t for t in paths if _template_regex(t).fullmatch(request.url.path)]
    best = min(matching, key=lambda t: t.count("{"), default=None)
    methods = sorted(m.upper() for m in paths[best]) if best is not None else []
    headers = {"Allow": ", ".join(methods)} if methods else None
    return JSONResponse({"detail": exc.detail}, status_code=405, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PgsearchError, _domain_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(OperationalError, _db_unavailable)
    app.add_exception_handler(DBAPIError, _dbapi_error)
    # The same, from the psycopg connections the search route uses directly.
    app.add_exception_handler(psycopg_pool.PoolTimeout, _pool_timeout)
    app.add_exception_handler(psycopg.OperationalError, _db_unavailable)
