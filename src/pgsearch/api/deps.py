"""FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from pgsearch.config import Settings, get_settings
from pgsearch.db import get_db
from pgsearch.embedding import Embedder, get_embedder

# scope="function": commit/rollback happen before the response is sent, so a client is never
# told "created" for a write whose commit then failed.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_embedder(settings: SettingsDep) -> Embedder:
    """The configured built-in embedding model (loaded on first use)."""
    return get_embedder(settings.embedding_model)


EmbedderDep = Annotated[Embedder, Depends(current_embedder)]
