"""German compound splitting: a compound is indexed as itself and as its parts.

German writes compounds as one word: a page on the `Kernelbefehlszeile` is searched for as
`Kernel-Befehlszeile`, a `Dateisystembelegung` as `Dateisystem`. PostgreSQL's `german`
configuration stems whole words only, so they never meet. Like Elasticsearch's decompounders,
each word is kept and its parts follow it (`dateisystembelegung datei system belegung`), on
both sides, so an exact compound still scores as one and its parts find each other.

The parts come from wordninja-pp's German word list (word frequencies, shipped in its wheel):
the split of least cost under Zipf's law, so a known word stays whole. Pieces shorter than
MIN_PART (linking elements such as the `s` of `Meldungskatalog`, or a suffix the list holds as
a word) join the piece before them, so parts are whole words. Words of its English list are
left whole: German text is full of English terms (`database`, `filesystem`), and their German
"parts" would only match unrelated words, in a collection of several languages too. Measured
on the German set: README, Languages.
"""

from __future__ import annotations

import functools
import gzip
import re
from typing import Any

# Shorter words are rarely compounds of two parts of MIN_PART letters or more.
MIN_WORD = 7
MIN_PART = 4
_TOKEN = re.compile(r"\S+")
_LONG_LETTERS = re.compile(f"[^\\W\\d_]{{{MIN_WORD},}}")


@functools.cache
def _model() -> Any:
    import wordninja

    return wordninja.LanguageModel("de")


@functools.cache
def _english() -> frozenset[str]:
    import wordninja

    with gzip.open(wordninja.LANGUAGES["en"], "rt", encoding="utf-8") as f:
        return frozenset(f.read().split())


@functools.lru_cache(maxsize=200_000)
def parts(word: str) -> tuple[str, ...]:
    """The parts of a lowercase compound (none: not a compound)."""
    if word in _english():
        return ()
    merged: list[str] = []
    carry = ""
    for piece in _model().split(word):
        if len(piece) >= MIN_PART:
            merged.append(carry + piece)
            carry = ""
        elif merged:
            merged[-1] += piece
        else:
            carry += piece
    if carry or len(merged) < 2:
        return ()
    return tuple(merged)


def _with_parts(token: re.Match[str]) -> str:
    found = [p for word in _LONG_LETTERS.findall(token[0]) for p in parts(word)]
    # After the token, which stays whole: e-mails, paths and hyphenated words keep their parse.
    return " ".join([token[0], *found]) if found else token[0]


def compounds(text: str) -> dict[str, tuple[str, ...]]:
    """The compounds of `text` (lowercase), each with its parts."""
    found = {word: parts(word) for word in set(_LONG_LETTERS.findall(text))}
    return {word: split for word, split in found.items() if split}


def decompound(text: str) -> str:
    """`text` (lowercase) with the parts of each compound after the token holding it."""
    return _TOKEN.sub(_with_parts, text)
