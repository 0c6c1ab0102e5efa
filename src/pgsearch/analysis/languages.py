"""Languages pgsearch analyses, and the analyzer (PostgreSQL text search configuration plus,
for Chinese, Japanese and Korean, a word segmenter, for German a compound splitter) each one
uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

CjkSegmenter = Literal["korean", "japanese", "chinese"]
# What splits words in Python before PostgreSQL's parser: CJK runs into words, German
# compounds into their parts (analysis.decompound).
Segmenter = Literal["korean", "japanese", "chinese", "german"]


@dataclass(frozen=True)
class Analyzer:
    """How text becomes lexemes: optional segmentation in Python, then `to_tsvector(config, …)`."""

    name: str
    config: str
    # CJK runs are segmented in Python; the rest of the text (Latin identifiers, numbers) keeps
    # the `english` analysis, so mixed text matches on both parts. German compounds are split.
    segmenter: Segmenter | None = None


# PostgreSQL's Snowball configurations (present since PostgreSQL 13), by ISO 639-1 code.
_SNOWBALL = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

ANALYZERS: dict[str, Analyzer] = {
    code: Analyzer(name=config, config=config) for code, config in _SNOWBALL.items()
} | {
    "de": Analyzer(name="german", config="german", segmenter="german"),
    "ko": Analyzer(name="korean", config="english", segmenter="korean"),
    "ja": Analyzer(name="japanese", config="english", segmenter="japanese"),
    "zh": Analyzer(name="chinese", config="english", segmenter="chinese"),
    # No stemming and no stop words: text in a language (or script) no analyzer knows.
    "simple": Analyzer(name="simple", config="simple"),
}
SUPPORTED = tuple(sorted(ANALYZERS))
# Codes that name a supported language under another tag.
_ALIASES = {"nb": "no", "nn": "no"}

# Documents stored before languages existed were analysed as English.
DEFAULT_LANGUAGE = "en"
# A language with at least this share of the user's documents is one of the user's main
# languages: it reads every query (analysis.query) and settles uncertain detections
# (analysis.detect).
MIN_SHARE = 0.1


def main_languages(documents: Mapping[str, int], user_language: str | None) -> set[str]:
    """The user's language and those holding at least MIN_SHARE of the user's documents."""
    total = sum(documents.values())
    main = {lang for lang, n in documents.items() if n > 0 and n >= MIN_SHARE * total}
    return main | ({user_language} if user_language is not None else set())


class UnknownLanguage(ValueError):
    """A language code pgsearch has no analyzer for."""

    def __init__(self, code: str) -> None:
        super().__init__(
            f"unknown language {code!r}: use one of {', '.join(SUPPORTED)} "
            "(ISO 639-1 codes; a region such as en-US is ignored)"
        )


def normalize_code(code: str) -> str | None:
    """The supported code for `code` (`en-US` → `en`, `zh_Hant` → `zh`), or None."""
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in ANALYZERS else None


def parse_language(code: str) -> str:
    """The supported code for `code`, or `UnknownLanguage` listing the supported ones."""
    found = normalize_code(code)
    if found is None:
        raise UnknownLanguage(code)
    return found


def analyzer_for(language: str) -> Analyzer:
    """The analyzer of a supported language code."""
    return ANALYZERS[language]
