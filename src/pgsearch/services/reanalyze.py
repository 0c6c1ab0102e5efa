"""Re-making the keyword analysis of stored chunks, after a language's analysis changed.

A chunk's lexemes are made at ingest, by the analysis of its time: German documents stored
before compounds were split keep matching their whole words, not the parts. `pgsearch
reanalyze --language de` analyses their chunks anew; vectors and texts stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection

import numpy as np
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from pgsearch.models import Chunk, Document
from pgsearch.repositories import documents as repo
from pgsearch.services.documents import analysed_chunks, lock_user, write_chunks


def reanalyze(
    session: Session,
    *,
    languages: Collection[str] | None = None,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Analyse again the chunks of every document in `languages` (None: every document);
    returns how many chunks. Runs in the caller's transaction, a batch of documents at a time,
    each user's locked as an ingest locks it."""
    wanted: ColumnElement[bool] = (
        Document.language.in_(list(languages)) if languages is not None else true()
    )
    total = (
        session.scalar(select(func.coalesce(func.sum(Document.chunk_count), 0)).where(wanted)) or 0
    )
    done = 0
    last_id = 0
    while True:
        docs = session.execute(
            select(Document.id, Document.user_id, Document.language)
            .where(wanted, Document.id > last_id)
            .order_by(Document.id)
            .limit(batch_size)
        ).all()
        if not docs:
            break
        last_id = docs[-1].id
        chunks = session.execute(
            select(Chunk.document_id, Chunk.text, Chunk.embedding)
            .where(Chunk.document_id.in_([d.id for d in docs]))
            .order_by(Chunk.document_id, Chunk.chunk_index)
        ).all()
        by_document: dict[int, list[tuple[str, object]]] = defaultdict(list)
        for c in chunks:
            by_document[c.document_id].append((c.text, c.embedding))
        by_user: dict[int, list[repo.ChunkRows]] = defaultdict(list)
        for d in docs:
            rows = by_document.get(d.id)
            if not rows:
                continue
            vectors = np.stack([np.asarray(v, dtype=np.float32) for _, v in rows])
            by_user[d.user_id].append(
                analysed_chunks(d.id, [t for t, _ in rows], vectors, d.language)
            )
        for user_id, rows_of_user in sorted(by_user.items()):
            lock_user(session, user_id)
            write_chunks(session, user_id, rows_of_user)
            done += sum(len(r.texts) for r in rows_of_user)
        if progress is not None:
            progress(done, total)
    session.flush()
    return done
