"""FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from pgsearch.db import get_db

# scope="function": commit/rollback happen before the response is sent, so a client is never
# told "created" for a write whose commit then failed.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
