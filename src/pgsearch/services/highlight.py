"""Highlighted excerpts for search results: one more step of a search (services/search.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select

from pgsearch.analysis.decompound import compounds, decompound
from pgsearch.analysis.languages import ANALYZERS
from pgsearch.analysis.text import normalize
from pgsearch.schemas import SearchHit
from pgsearch.search.highlight import headline_statement
from pgsearch.services.user_facts import Languages


def highlight_step(
    hits: Sequence[SearchHit], *, user_id: int, query: str, languages: Languages
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement (and its values) that makes the hits' excerpts for a user with documents
    in `languages`: compounds are looked for only if one of them splits its compounds."""
    held = {lang for lang, n in languages.documents.items() if n > 0}
    held |= {languages.user_language} if languages.user_language is not None else set()
    split_compounds = any(ANALYZERS[lang].segmenter == "german" for lang in held)
    found: dict[str, tuple[str, ...]] = {}
    if split_compounds:
        for hit in hits:
            found |= compounds(normalize(hit.text))
    return headline_statement(), {
        "query": query,
        "split_query": decompound(normalize(query)) if split_compounds else query,
        "compound_words": list(found),
        "compound_parts": [" ".join(p) for p in found.values()],
        "user_id": user_id,
        "document_ids": [h.document_id for h in hits],
        "chunk_indexes": [h.chunk_index for h in hits],
    }


def add_highlights(hits: Sequence[SearchHit], rows: Sequence[Any]) -> None:
    """Set each hit's `highlight` from the rows of `highlight_step`'s statement."""
    marked: dict[int, str] = {r.document_id: r.highlight for r in rows}
    for hit in hits:
        hit.highlight = marked.get(hit.document_id)
