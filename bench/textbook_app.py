"""The literal textbook FastAPI + SQLAlchemy app: the baseline `bench.load` compares pgsearch with.

Run:  uvicorn bench.textbook_app:app   (with the same `DB_*` environment as pgsearch)

Written the way the tutorials write it, on purpose: settings and `engine` at module level,
`create_engine(url)` with the default pool (5 connections + 10 overflow, 30 s checkout timeout),
`get_db()` yielding a session and closing it, sync `def` endpoints. It reads the same tables as
pgsearch (`users`, `chunks`) and does not start or migrate anything: `bench.load` does that.

The search endpoint is the naive one a tutorial would write: embed the query with the same
built-in model, then `ORDER BY embedding <=> :v LIMIT k` through the session, no filters. It
selects the columns it returns rather than whole `Chunk` rows, so it does not decode 384-float
vectors pgsearch never reads either: the comparison is about the serving stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pgvector.sqlalchemy import Vector
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, Integer, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from pgsearch.config import DatabaseConfig
from pgsearch.embedding import get_embedder

# The tutorial's settings object; pgsearch's `DatabaseConfig` has exactly the textbook `DB_*` names,
# so both apps build the same URL from the same environment.
settings = DatabaseConfig()
engine = create_engine(settings.sync_db_url())
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)
embedder = get_embedder("minilm")  # the model loads on the first query, as in pgsearch


class Base(DeclarativeBase):
    """Declarative base of the textbook models."""


class User(Base):
    """The textbook user (same table as pgsearch's)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Chunk(Base):
    """The columns of pgsearch's `chunks` table a naive search needs."""

    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    chunk_index: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[Any] = mapped_column(Vector(384))


class UserOut(BaseModel):
    """A user in responses."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class SearchIn(BaseModel):
    """A text query (embedded by the app) or a ready vector; other fields are ignored."""

    query: str | None = None
    vector: list[float] | None = None
    k: int = 10


class HitOut(BaseModel):
    """One nearest chunk."""

    document_id: int
    chunk_index: int
    text: str
    score: float


def get_db() -> Iterator[Session]:
    """One session per request, always closed."""
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]

app = FastAPI(title="textbook")


@app.get("/users", response_model=list[UserOut])
def read_users(db: SessionDep) -> list[User]:
    """Every user."""
    return db.query(User).all()


@app.post("/users/{user_id}/search", response_model=list[HitOut])
def search(user_id: int, body: SearchIn, db: SessionDep) -> list[HitOut]:
    """The `k` chunks of the user nearest to the query."""
    vector = body.vector if body.vector is not None else embedder.embed([body.query or ""])[0]
    distance = Chunk.embedding.cosine_distance(vector)
    rows = (
        db.query(Chunk.document_id, Chunk.chunk_index, Chunk.text, distance.label("distance"))
        .filter(Chunk.user_id == user_id)
        .order_by(distance)
        .limit(body.k)
        .all()
    )
    return [
        HitOut(
            document_id=r.document_id, chunk_index=r.chunk_index, text=r.text, score=1 - r.distance
        )
        for r in rows
    ]
