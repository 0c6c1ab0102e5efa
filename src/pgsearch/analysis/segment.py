"""Word segmentation of CJK runs: kiwipiepy (Korean), SudachiPy (Japanese), jieba (Chinese).

Chosen by measurement against character bigrams (bench/languages.py, README "Languages").
Each segmenter loads its dictionary (shipped in its wheel) on first use, and is used under a
lock: SudachiPy's tokenizer may not be shared between threads, and one lock per segmenter
costs little next to the segmentation itself.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from pgsearch.analysis.languages import CjkSegmenter

# Kiwi tags of what carries no meaning for search: particles (J*), endings (E*), suffixes and
# prefixes, the copula, punctuation and symbols (S*, except foreign words, hanja and numbers).
_KIWI_SKIP = ("J", "E", "XS", "XPN", "VCP", "VCN")
_KIWI_KEEP = ("SL", "SH", "SN")
# Sudachi parts of speech without meaning for search: particles, auxiliary verbs, symbols.
_SUDACHI_SKIP = ("助詞", "助動詞", "補助記号", "空白", "記号")


# A word of a CJK text: its span in the text, and its form for search (None: no meaning for
# search, such as a particle: dropped, and no part of the text around it either).
Token = tuple[int, int, str | None]
# Kiwi tags of nouns that may stand in a compound.
_KIWI_NOUNS = ("NNG", "NNP", "SH")


@functools.cache
def _korean() -> Callable[[str], list[Token]]:
    from kiwipiepy import Kiwi

    kiwi = Kiwi()

    def keep(tag: str) -> bool:
        return tag in _KIWI_KEEP or not (tag.startswith(_KIWI_SKIP) or tag.startswith("S"))

    def run(text: str) -> list[Token]:
        out: list[Token] = []
        compound: list[tuple[int, int, str]] = []

        def close() -> None:
            # Kiwi splits a compound by context (데이터베이스를 → 데이터베이스, but in a
            # sentence 데이터 + 베이스): adjacent nouns are also indexed joined, as nori's
            # "mixed" decompounding does, so both forms meet.
            if len(compound) > 1:
                out.append((compound[0][0], compound[-1][1], "".join(f for _, _, f in compound)))
            compound.clear()

        for t in kiwi.tokenize(text):
            end = t.start + t.len
            form = t.form.lower() if keep(t.tag) else None
            if t.tag in _KIWI_NOUNS and compound and compound[-1][1] == t.start:
                compound.append((t.start, end, t.form.lower()))
            else:
                close()
                if t.tag in _KIWI_NOUNS:
                    compound.append((t.start, end, t.form.lower()))
            out.append((t.start, end, form))
        close()
        return out

    return run


@functools.cache
def _japanese() -> Callable[[str], list[Token]]:
    from sudachipy import Dictionary, SplitMode

    # Mode A, the shortest units: a compound (東京都庁) is found by its parts (都庁).
    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.A)

    def run(text: str) -> list[Token]:
        return [
            (
                m.begin(),
                m.end(),
                None if m.part_of_speech()[0] in _SUDACHI_SKIP else m.normalized_form().lower(),
            )
            for m in tokenizer.tokenize(text)
        ]

    return run


@functools.cache
def _chinese() -> Callable[[str], list[Token]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()

    def run(text: str) -> list[Token]:
        # Search mode: a compound and the words inside it (中华人民共和国 → 中华, 人民, 共和国, …).
        return [
            (start, end, w.lower() if any(c.isalnum() for c in w) else None)
            for w, start, end in tokenizer.tokenize(text, mode="search")
        ]

    return run


_LOADERS: dict[CjkSegmenter, Callable[[], Callable[[str], list[Token]]]] = {
    "korean": _korean,
    "japanese": _japanese,
    "chinese": _chinese,
}
_LOCKS: dict[CjkSegmenter, threading.Lock] = {name: threading.Lock() for name in _LOADERS}


def segment(segmenter: CjkSegmenter, text: str) -> list[Token]:
    """The words of a text, in order, with their spans (forms lowercased)."""
    with _LOCKS[segmenter]:
        return _LOADERS[segmenter]()(text)
