"""ORM models (SQLAlchemy 2 typed declarative)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    REAL,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Text search configuration of English, and of every chunk stored before languages existed
# (chunks get their document's analyzer: see pgsearch/analysis).
TEXT_SEARCH_CONFIG = "english"

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every pgsearch table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A user: owns documents (and, with auth enabled, API keys)."""

    __tablename__ = "users"

    # Same shape as the textbook table, so a database made by its create_all is adopted as is.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # Language of the user's documents when a document says none (None: detected).
    language: Mapped[str | None] = mapped_column(Text)


class Document(Base):
    """A user's document: the full text, JSON metadata and an optional client-chosen id."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("user_id", "external_id"),
        # jsonb_path_ops: smaller and faster than the default opclass for `@>` containment,
        # which is what metadata equality filters compile to.
        Index(
            "ix_documents_metadata",
            "metadata",
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        ),
        # Documents per language (services/user_facts.py), counted from the index alone.
        Index("ix_documents_user_id_language", "user_id", "language"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # `metadata` is reserved on declarative classes: the attribute is `meta`, the column is not.
    meta: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=sql_text("'{}'::jsonb")
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    # The language code whose analyzer made its chunks' `tsv` (pgsearch.analysis).
    language: Mapped[str] = mapped_column(Text, server_default="en")
    chunk_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Chunk(Base):
    """A piece of a document with its embedding and full-text vector."""

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("document_id", "chunk_index"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the document so a search can restrict to one user without a join.
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    chunk_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # The dimension is the embedding model's, set when the model is first recorded (and by
    # `reembed`), together with HNSW_INDEX: see services/index.py.
    embedding: Mapped[Any] = mapped_column(Vector())
    # The text analysis of keyword search, made at ingest by the document's analyzer
    # (pgsearch.analysis); BM25 postings are made from these lexemes (search/bm25.py). A row
    # inserted without it gets the English analysis (a trigger, migration 0006).
    tsv: Mapped[Any] = mapped_column(TSVECTOR, nullable=False)


# The one definition of the vector index. HNSW needs a fixed dimension, so it is created with
# the dimension, after the schema exists, not by a migration.
HNSW_INDEX = Index(
    "ix_chunks_embedding_hnsw",
    Chunk.embedding,
    postgresql_using="hnsw",
    postgresql_with={"m": 16, "ef_construction": 64},
    postgresql_ops={"embedding": "vector_cosine_ops"},
)


# -- BM25 (keyword search) -----------------------------------------------------------------
# Written only by the triggers on `chunks` (migration 0004), in the transaction that writes the
# chunks. Terms are lexemes hashed to bigint (`hashtextextended(lexeme, 0)`): no shared
# dictionary, so parallel writers and different users never touch the same rows.


class Bm25Stats(Base):
    """One user's corpus statistics, and the parameters their stored impacts were made with."""

    __tablename__ = "bm25_stats"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chunks: Mapped[int] = mapped_column(BigInteger)
    # Sum of the chunks' lengths (lexeme occurrences).
    length: Mapped[int] = mapped_column(BigInteger)
    k1: Mapped[float] = mapped_column(Double)
    b: Mapped[float] = mapped_column(Double)
    impact_avgdl: Mapped[float] = mapped_column(Double)


class Bm25Df(Base):
    """Document frequency: how many of a user's chunks hold a term."""

    __tablename__ = "bm25_df"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    df: Mapped[int] = mapped_column(Integer)


# One row per (chunk, term): no primary key, so a plain table rather than a mapped class.
bm25_postings = Table(
    "bm25_postings",
    Base.metadata,
    Column("term", BigInteger, nullable=False),
    Column("chunk_id", BigInteger, nullable=False),
    Column("user_id", Integer, nullable=False),
    # tf*(k1+1) / (tf + k1*(1 - b + b*length/avgdl)) with the user's `Bm25Stats` k1, b,
    # impact_avgdl: the term's BM25 weight in the chunk, without IDF.
    Column("impact", REAL, nullable=False),
    Column("length", Integer, nullable=False),  # the chunk's length
    Column("tf", SmallInteger, nullable=False),
    Index("ix_bm25_postings_chunk_id", "chunk_id"),  # deletes, exact re-scoring
)
# Top postings of a term first: a query reads a few hundred entries per term, not every match;
# tf and length make both that scan and the exhaustive exact form index-only (and pgsearch_bm25
# reads it: see pgsearch.native).
postings_by_impact = Index(
    "ix_bm25_postings_impact",
    bm25_postings.c.user_id,
    bm25_postings.c.term,
    bm25_postings.c.impact.desc(),
    postgresql_include=["chunk_id", "tf", "length"],
)


class IndexConfig(Base):
    """The embedding model the stored vectors were made with (a single row)."""

    __tablename__ = "index_config"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    embedding_model: Mapped[str] = mapped_column(Text)
    embedding_dim: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A user's API key: only a hash is stored; `prefix` identifies it in listings."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
