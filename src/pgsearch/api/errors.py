"""Turn domain and database errors into HTTP responses (one place, no 500s for known cases)."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pgsearch.db import DatabaseUnavailable
from pgsearch.errors import PgsearchError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = "2"


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": message}, status_code=503, headers={"Retry-After": RETRY_AFTER_S}
    )


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PgsearchError)
    headers = {"WWW-Authenticate": 'Bearer realm="pgsearch"'} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("connection pool exhausted: %s %s", request.method, request.url.path)
    return _unavailable("database busy: no free connection, retry shortly")


async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return _unavailable("database unavailable, retry shortly")


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


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        item: dict[str, Any] = {"type": err["type"], "loc": list(err["loc"]), "msg": err["msg"]}
        if "input" in err and (safe := _safe_input(err["input"])) is not None:
            item["input"] = safe
        if "ctx" in err:
            ctx = err["ctx"].items()
            item["ctx"] = {k: v if isinstance(v, int | str) else str(v) for k, v in ctx}
        errors.append(item)
    return JSONResponse({"detail": errors}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PgsearchError, _domain_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(OperationalError, _db_unavailable)
    app.add_exception_handler(DatabaseUnavailable, _db_unavailable)
    app.add_exception_handler(DBAPIError, _dbapi_error)
