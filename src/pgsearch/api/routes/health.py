"""`/health`: is the database reachable, and which versions run."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from pgsearch.db import get_engine
from pgsearch.errors import Unavailable
from pgsearch.schemas import Health
from pgsearch.services.health import database_status

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health() -> Health | JSONResponse:
    """200 with versions when the database answers, 503 when it does not."""
    try:
        status = database_status(get_engine())
    except SQLAlchemyError:
        body = Health(status="unavailable", database="down", detail="database unreachable")
        return JSONResponse(
            body.model_dump(), status_code=503, headers=dict(Unavailable.headers or {})
        )
    return Health(
        status="ok",
        database="up",
        postgres_version=status.postgres_version,
        pgvector_version=status.pgvector_version,
        schema_revision=status.schema_revision,
    )
