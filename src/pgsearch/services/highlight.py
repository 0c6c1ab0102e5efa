"""Highlighted excerpts for search results."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from pgsearch.schemas import SearchHit
from pgsearch.search.highlight import headline_statement


def add_highlights(
    conn: Connection, hits: Sequence[SearchHit], *, user_id: int, query: str
) -> None:
    """Set each hit's `highlight`: its chunk's excerpt with the query's words marked."""
    rows = conn.execute(
        headline_statement(),
        {
            "query": query,
            "user_id": user_id,
            "document_ids": [h.document_id for h in hits],
            "chunk_indexes": [h.chunk_index for h in hits],
        },
    ).all()
    marked: dict[int, str] = {r.document_id: r.highlight for r in rows}
    for hit in hits:
        hit.highlight = marked.get(hit.document_id)
