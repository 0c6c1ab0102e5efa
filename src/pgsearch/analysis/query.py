"""Which analyzers read a query, from the languages of the user's documents.

A query's language is rarely known and short texts are misdetected, so a query is read by the
analyzers of the languages that make up a real part of the user's collection. Not by every
language the user has a document in: a few documents misdetected (man pages full of options,
read as Serbian or Turkish) would add their stemmer's lexemes to every query, and those lexemes,
found in those few documents only, carry the highest IDF of the collection and pull them to the
top of unrelated searches. A minority language joins when the query itself is in it (its
script, or a confident detection).
"""

from __future__ import annotations

from collections.abc import Mapping

from pgsearch.analysis.detect import detect_among, likely_language
from pgsearch.analysis.languages import (
    DEFAULT_LANGUAGE,
    Analyzer,
    analyzer_for,
    main_languages,
)
from pgsearch.analysis.text import cjk_segmenters

_SEGMENTER_LANGUAGE = {"korean": "ko", "japanese": "ja", "chinese": "zh"}


def query_analyzers(
    query: str,
    *,
    documents: Mapping[str, int],
    requested: str | None = None,
    user_language: str | None = None,
) -> list[Analyzer]:
    """The analyzers for `query`: those of the requested language, of the user's language, of
    the languages holding at least MIN_SHARE of the user's `documents` (language code → count),
    and of a minority language the query is written in.
    """
    languages = main_languages(documents, user_language)
    languages |= {requested} if requested is not None else set()
    minority = {lang for lang, n in documents.items() if n > 0} - languages
    if minority:
        # The detector's best guess, not the English it falls back to below its floor: a
        # Spanish query taken for English had English-analysed documents' rare lexemes
        # (Spanish words under the English stemmer) outrank the Spanish pages (README, Languages).
        likely = likely_language(query)
        said = _script_languages(query) or ({likely} if likely is not None else set())
        languages |= said & minority
    if not languages:
        languages.add(DEFAULT_LANGUAGE)
    return sorted({analyzer_for(lang) for lang in languages}, key=lambda a: a.name)


def query_languages(
    query: str,
    *,
    documents: Mapping[str, int],
    requested: str | None = None,
    user_language: str | None = None,
) -> frozenset[str]:
    """The languages `query` may be in, for hybrid search's fusion (services.search.fusion_for).

    The request's; else its script's (CJK); else the user's language and those that make up a
    real part of the user's documents (MIN_SHARE), narrowed to the query's language when the
    detector names one of them, surely or, below its floor, as its likeliest guess among them.
    A few words are too few for the detector on its own (it took a quarter of the Spanish set's
    queries for English, and an English Debian synopsis for a language no analyzer knows:
    README, Languages), so it only chooses among those. Unsure is not English: below the floor
    the detector answers English, which had a Spanish query in a Spanish and English collection
    read as English.
    """
    if requested is not None:
        return frozenset({requested})
    script = _script_languages(query)
    if script:
        return frozenset(script)
    main = main_languages(documents, user_language)
    if len(main) > 1:
        detected = detect_among(query, main)
        if detected is not None:
            return frozenset({detected})
    return frozenset(main)


def _script_languages(query: str) -> set[str]:
    """The CJK languages the query's scripts say it is in (none: another script)."""
    return {_SEGMENTER_LANGUAGE[s] for s in cjk_segmenters(query)}
