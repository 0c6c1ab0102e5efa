"""Keyword analysis per language: which analyzer, how text is prepared for it, detection."""

from pgsearch.analysis.detect import detect_language, detect_languages
from pgsearch.analysis.languages import (
    ANALYZERS,
    DEFAULT_LANGUAGE,
    SUPPORTED,
    Analyzer,
    UnknownLanguage,
    analyzer_for,
    normalize_code,
    parse_language,
)
from pgsearch.analysis.text import for_index, normalize, query_forms

__all__ = [
    "ANALYZERS",
    "DEFAULT_LANGUAGE",
    "SUPPORTED",
    "Analyzer",
    "UnknownLanguage",
    "analyzer_for",
    "detect_language",
    "detect_languages",
    "for_index",
    "normalize",
    "normalize_code",
    "parse_language",
    "query_forms",
]
