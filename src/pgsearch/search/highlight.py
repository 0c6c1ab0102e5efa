"""Highlighted excerpts of search results: `ts_headline` over the result chunks only.

A separate statement from the ranking one: it runs on the k chunks a search returned, so the
search's own SQL and cost stay as they are when no highlight is asked for.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY
from sqlalchemy.sql.selectable import TableValuedAlias

from pgsearch.analysis.languages import ANALYZERS
from pgsearch.models import TEXT_SEARCH_CONFIG, Chunk, Document

# Private-use characters: no text means anything by them, and they are removed from the text
# before marking, so a client can trust every marker to be one.
START = "\ue000"
STOP = "\ue001"
# Up to 3 excerpts of 15–35 words around the matches; ShortWord=0 keeps short words ("Bob",
# "A") at an excerpt's edges, which the default drops.
OPTIONS = (
    f'StartSel="{START}", StopSel="{STOP}", MaxWords=35, MinWords=15, MaxFragments=3, '
    'ShortWord=0, FragmentDelimiter=" … "'
)


def _quoted(lexeme: Any) -> Any:
    """A lexeme as a quoted tsquery operand (quotes and backslashes escaped)."""
    escaped = func.replace(func.replace(lexeme, "\\", "\\\\"), "'", "''")
    return literal("'") + escaped + literal("'")


def _any_word(config: Any, text: Any) -> Any:
    """The lexemes of `text` under `config`, OR-ed, as a tsquery."""
    lexemes = func.unnest(func.tsvector_to_array(func.to_tsvector(config, text)))
    words = lexemes.table_valued("lexeme").render_derived()
    return (
        select(cast(func.coalesce(func.string_agg(_quoted(words.c.lexeme), " | "), ""), TSQUERY))
        .select_from(words)
        .scalar_subquery()
    )


def _rows(*arrays: tuple[str, str, Any]) -> TableValuedAlias:
    """The rows of parallel array parameters, `unnest(:param, ...) AS (column, ...)`, from
    `(parameter, column, element type)`s."""
    return (
        func.unnest(*(bindparam(param, type_=ARRAY(type_)) for param, _, type_ in arrays))
        .table_valued(*(column for _, column, _ in arrays))
        .render_derived()
    )


@cache
def headline_statement() -> Select[Any]:
    """`(document_id, highlight)` for the chunks `(document_ids[i], chunk_indexes[i])`.

    The query's words are analysed as keyword search analyses them and OR-ed (BM25 matches any
    of them); a query of stop words only marks nothing. In a language whose compounds are
    split (German), the query is `split_query` (with its compounds' parts), and a compound of
    the text (`compound_words`, each with its `compound_parts`) whose parts the query holds is
    marked too: keyword search found the page by them, and `ts_headline` sees whole words only.
    """
    # The document's own configuration (its stemmer and stop words), for the query's words as
    # for the text: ts_headline re-parses raw text, which CJK segmentation does not reach (see
    # README "Languages"), so CJK documents keep the `english` parse their analyzers use.
    config = cast(
        case(
            {code: a.config for code, a in ANALYZERS.items()},
            value=Document.language,
            else_=TEXT_SEARCH_CONFIG,
        ),
        REGCONFIG,
    )
    split = bindparam("split_query", type_=Text)
    compounds = _rows(("compound_words", "word", Text), ("compound_parts", "parts", Text))
    found = (
        select(func.string_agg(compounds.c.word, " "))
        .select_from(compounds)
        .where(func.to_tsvector(config, compounds.c.parts).op("@@")(_any_word(config, split)))
        .scalar_subquery()
    )
    query = case(
        {
            code: split + " " + func.coalesce(found, "")
            for code, a in ANALYZERS.items()
            if a.segmenter == "german"
        },
        value=Document.language,
        else_=bindparam("query", type_=Text),
    )
    any_word = _any_word(config, query)
    wanted = _rows(
        ("document_ids", "document_id", BigInteger), ("chunk_indexes", "chunk_index", Integer)
    )
    text = func.translate(Chunk.text, START + STOP, "")
    return (
        select(
            Chunk.document_id,
            func.ts_headline(config, text, any_word, OPTIONS).label("highlight"),
        )
        .join(
            wanted,
            (Chunk.document_id == wanted.c.document_id)
            & (Chunk.chunk_index == wanted.c.chunk_index),
        )
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.user_id == bindparam("user_id", type_=Integer))
    )
