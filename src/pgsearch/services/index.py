"""Which embedding model the stored vectors belong to, and switching models (re-embedding)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pgsearch.embedding import Embedder
from pgsearch.errors import ModelMismatch
from pgsearch.models import HNSW_INDEX, Chunk, IndexConfig


def stored_model(session: Session) -> IndexConfig | None:
    """The recorded model, or None for a database that has never stored a vector."""
    return session.get(IndexConfig, 1)


def check_model(session: Session, embedder: Embedder) -> IndexConfig:
    """Record `embedder` on first use; fail clearly if the stored vectors are another model's."""
    # ON CONFLICT: several workers may start at once on a new database; one of them records.
    recorded = session.scalar(
        insert(IndexConfig)
        .values(id=1, embedding_model=embedder.name, embedding_dim=embedder.dim)
        .on_conflict_do_nothing(index_elements=[IndexConfig.id])
        .returning(IndexConfig.id)
    )
    if recorded is not None:
        _set_dimension(session, embedder.dim)
    config = stored_model(session)
    assert config is not None
    if (config.embedding_model, config.embedding_dim) != (embedder.name, embedder.dim):
        raise ModelMismatch(
            f"the database holds vectors of model {config.embedding_model!r} "
            f"({config.embedding_dim} dims) but pgsearch is configured with {embedder.name!r} "
            f"({embedder.dim} dims); run `pgsearch reembed` to re-embed every document with the "
            "configured model, or set PGSEARCH_EMBEDDING_MODEL back"
        )
    return config


def _column_dimension(session: Session) -> int | None:
    typmod = session.scalar(
        text(
            "SELECT atttypmod FROM pg_attribute"
            " WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        )
    )
    return None if typmod is None or typmod < 0 else int(typmod)


def _set_dimension(session: Session, dim: int) -> None:
    """Give the vector column the model's dimension and build the HNSW index (HNSW_INDEX)."""
    if _column_dimension(session) != dim:
        # First record: no vectors are stored yet (they need a recorded model).
        _retype_vectors(session, dim, discard=False)
    _build_index(session)


def _retype_vectors(session: Session, dim: int, *, discard: bool) -> None:
    """Make the vector column `vector(dim)`; `discard`: existing vectors become NULL (another
    model's cannot be cast)."""
    discarding = " USING NULL, ALTER COLUMN embedding DROP NOT NULL" if discard else ""
    # A new type resets the column's storage to the type's (out of line): keep it in the row.
    session.execute(
        text(
            f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(dim)}){discarding},"
            " ALTER COLUMN embedding SET STORAGE MAIN"
        )
    )


def _build_index(session: Session) -> None:
    # With enough memory for the graph: 64 MB (the default) took 196 s for 100k chunks, 1 GB 43 s.
    session.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    HNSW_INDEX.create(session.connection(), checkfirst=True)


def reembed(
    session: Session,
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-embed every chunk with `embedder` (changing the vector dimension if needed).

    Runs in the caller's transaction: until it commits, searches keep using the old vectors, and
    an interrupted run changes nothing.
    """
    session.execute(text("LOCK TABLE chunks IN SHARE ROW EXCLUSIVE MODE"))
    total = session.scalar(select(func.count()).select_from(Chunk)) or 0
    # Built once after the bulk update: far faster than maintaining it row by row.
    HNSW_INDEX.drop(session.connection(), checkfirst=True)
    if _column_dimension(session) != embedder.dim:
        _retype_vectors(session, embedder.dim, discard=True)
    done = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(Chunk.id, Chunk.text)
            .where(Chunk.id > last_id)
            .order_by(Chunk.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        vectors = embedder.embed([r.text for r in rows])
        session.execute(
            update(Chunk),
            [{"id": r.id, "embedding": np.asarray(v)} for r, v in zip(rows, vectors, strict=True)],
        )
        last_id = rows[-1].id
        done += len(rows)
        if progress is not None:
            progress(done, total)
    session.execute(text("ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL"))
    _build_index(session)
    session.execute(
        insert(IndexConfig)
        .values(id=1, embedding_model=embedder.name, embedding_dim=embedder.dim)
        .on_conflict_do_update(
            index_elements=[IndexConfig.id],
            set_={
                "embedding_model": embedder.name,
                "embedding_dim": embedder.dim,
                "updated_at": func.now(),
            },
        )
    )
    session.flush()
    return done
