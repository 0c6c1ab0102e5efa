"""Text to the string PostgreSQL's `to_tsvector(config, …)` analyses, per analyzer.

Done in Python for two reasons:
- CJK has no spaces between words: runs of CJK text are segmented into words here (particles
  and endings dropped), and the words joined by spaces for PostgreSQL's parser. German
  compounds get their parts beside them (analysis.decompound).
- Under the C locale (the embedded server's) PostgreSQL lowercases only ASCII letters and takes
  every non-ASCII character for a letter: `Über` and `über` were two lexemes, `l’homme` one
  word. Text is lowercased here, and non-ASCII punctuation and symbols become spaces (ASCII
  punctuation is left to PostgreSQL's parser, which reads e-mails, paths and versions with it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from pgsearch.analysis.decompound import decompound
from pgsearch.analysis.languages import Analyzer, CjkSegmenter, Segmenter
from pgsearch.analysis.segment import segment

# Hangul (jamo, compatibility jamo, syllables), kana (with half-width), CJK ideographs
# (extension A, unified, compatibility), CJK punctuation and full-width forms.
_CJK_CHARS = (
    "\u1100-\u11ff\u3000-\u303f\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
# A run of CJK text, spaces between CJK words included (Korean separates words with spaces,
# and the segmenter reads a sentence better than a word).
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+(?:\\s+[{_CJK_CHARS}]+)*")
_LETTER_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]"
)
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class _SpaceOut(dict[int, str]):
    """`str.translate`'s table: every non-ASCII punctuation, symbol, separator or control
    character → space, any other as it is. Filled as characters are met: made whole at import,
    over all of Unicode, it cost every process 0.5 s of CPU."""

    def __missing__(self, cp: int) -> str:
        category = unicodedata.category(chr(cp))
        out = " " if cp >= 0x80 and (category[0] in "PSZ" or category == "Cc") else chr(cp)
        self[cp] = out
        return out


_SPACE_OUT = _SpaceOut()


def normalize(text: str) -> str:
    """Lowercase; non-ASCII punctuation and symbols become spaces."""
    return text.translate(_SPACE_OUT).lower()


def _segmented(text: str, segmenter: CjkSegmenter) -> str:
    """CJK words as the segmenter reads them; everything between them as written."""
    parts: list[str] = []
    pos = 0
    for start, end, form in segment(segmenter, text):
        if not _LETTER_CJK.search(text[start:end]):
            continue  # Latin words, numbers, punctuation: PostgreSQL's parser reads them
        if start > pos:
            parts.append(normalize(text[pos:start]))
        pos = max(pos, end)
        if form is not None:
            parts.append(form)
    parts.append(normalize(text[pos:]))
    return " ".join(parts)


def for_index(text: str, analyzer: Analyzer) -> str:
    """The text to analyse with `to_tsvector(analyzer.config, …)` for a chunk."""
    if analyzer.segmenter is None:
        return normalize(text)
    if analyzer.segmenter == "german":
        return decompound(normalize(text))
    return _segmented(text, analyzer.segmenter)


def has_cjk(text: str) -> bool:
    """Whether the text holds any CJK character."""
    return _CJK_RUN.search(text) is not None


def cjk_segmenters(query: str) -> list[CjkSegmenter]:
    """The CJK analyzers that could match the query, by its scripts: Hangul for Korean, kana
    or Han for Japanese, Han for Chinese."""
    if not has_cjk(query):
        return []
    wanted: list[CjkSegmenter] = []
    if _HANGUL.search(query):
        wanted.append("korean")
    if _KANA.search(query) or _HAN.search(query):
        wanted.append("japanese")
    if _HAN.search(query):
        wanted.append("chinese")
    return wanted


def query_forms(
    query: str, segmenters: Collection[Segmenter] | None = None
) -> dict[Segmenter, str]:
    """The query as each segmenting analyzer that could match it reads it (none: plain
    `normalize`), of those in `segmenters` if given: the CJK ones by the query's scripts, the
    German compound splitter when the query holds a compound."""
    forms: dict[Segmenter, str] = {
        s: _segmented(query, s)
        for s in cjk_segmenters(query)
        if segmenters is None or s in segmenters
    }
    if segmenters is None or "german" in segmenters:
        plain = normalize(query)
        german = decompound(plain)
        if german != plain:
            forms["german"] = german
    return forms


def script_counts(text: str) -> dict[str, int]:
    """Letters of `text` by script: hangul, kana, han, and other letters."""
    hangul = len(_HANGUL.findall(text))
    kana = len(_KANA.findall(text))
    han = len(_HAN.findall(text))
    letters = sum(1 for ch in text if ch.isalpha())
    return {"hangul": hangul, "kana": kana, "han": han, "other": letters - hangul - kana - han}
