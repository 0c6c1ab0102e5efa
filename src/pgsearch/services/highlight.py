"""Highlighted excerpts for search results: one more step of a search (services/search.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select

from pgsearch.schemas import SearchHit
from pgsearch.search.highlight import headline_statement


def highlight_step(
    hits: Sequence[SearchHit], *, user_id: int, query: str
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement (and its values) that makes the hits' excerpts."""
    return headline_statement(), {
        "query": query,
        "user_id": user_id,
        "document_ids": [h.document_id for h in hits],
        "chunk_indexes": [h.chunk_index for h in hits],
    }


def add_highlights(hits: Sequence[SearchHit], rows: Sequence[Any]) -> None:
    """Set each hit's `highlight` from the rows of `highlight_step`'s statement."""
    marked: dict[int, str] = {r.document_id: r.highlight for r in rows}
    for hit in hits:
        hit.highlight = marked.get(hit.document_id)
