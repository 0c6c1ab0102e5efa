"""Split text into overlapping chunks that fit an embedding model's window."""

from __future__ import annotations

import re

# Break candidates, best first. Each pattern's match marks where a chunk may end.
# A blank line (possibly holding spaces) between two line breaks; \r\n counts as one line break.
_PARAGRAPH = re.compile(r"(?:\r\n|\r(?!\n)|\n)[^\S\r\n]*(?:\r\n|\r(?!\n)|\n)")
# Western sentence ends need following whitespace (so "3.14" and "e.g.x" stay whole);
# CJK full stops end a sentence on their own because CJK text has no spaces.
_SENTENCE = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)"
    r"|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*"
)
_WHITESPACE = re.compile(r"\s+")
_NON_WHITESPACE = re.compile(r"\S")

# Patterns may need a few characters past the window to see a whole break (e.g. "\n  \n").
_LOOKAHEAD = 16


def chunk_text(text: str, *, max_chars: int = 800, overlap: int = 100) -> list[str]:
    """Split text into chunks of at most max_chars, preferring paragraph, then sentence breaks."""
    if max_chars < 50:
        raise ValueError(f"max_chars must be at least 50, got {max_chars}")
    if not 0 <= overlap < max_chars / 2:
        raise ValueError(
            f"overlap must be >= 0 and < max_chars / 2 ({max_chars / 2:g}), got {overlap}"
        )

    stripped = text.strip()
    if not stripped:
        return []
    if len(stripped) <= max_chars:
        return [stripped]

    first = _NON_WHITESPACE.search(text)
    assert first is not None  # text has non-whitespace, checked above
    start = first.start()
    end_of_text = len(text.rstrip())
    # A break must leave a chunk longer than this, so each step advances at least
    # (max_chars - overlap) / 2 characters: chunks stay reasonably full and the loop is linear.
    min_len = (max_chars + overlap) // 2

    chunks: list[str] = []
    while end_of_text - start > max_chars:
        end = _find_break(text, start + min_len, start + max_chars)
        chunks.append(text[start:end].strip())
        start = _next_start(text, end, overlap)
    chunks.append(text[start:end_of_text].strip())
    return chunks


def _find_break(text: str, lo: int, hi: int) -> int:
    """Return the best chunk end in [lo, hi]: paragraph, sentence, whitespace, else hi."""
    endpos = min(len(text), hi + _LOOKAHEAD)
    for pattern, use_end in ((_PARAGRAPH, False), (_SENTENCE, True), (_WHITESPACE, False)):
        best = -1
        # Scanning the window is O(max_chars) and the window moves by >= max_chars / 4.
        for match in pattern.finditer(text, lo, endpos):
            pos = match.end() if use_end else match.start()
            if pos > hi:
                break
            if pos >= lo:
                best = pos
        if best != -1:
            return best
    return hi  # no break at all (one huge "word", or CJK without punctuation): hard cut


def _next_start(text: str, end: int, overlap: int) -> int:
    """Return where the next chunk starts: about `overlap` chars before end, at a word boundary."""
    start = end
    if overlap > 0:
        target = end - overlap
        space = _WHITESPACE.search(text, target, end)
        if space is None:
            start = target  # no word boundary to use (CJK or a long word): cut inside it
        elif space.end() < end:
            start = space.end()
        # else the only boundary is at the very end: no overlap beats starting mid-word
    found = _NON_WHITESPACE.search(text, start)
    assert found is not None  # the caller only asks while non-whitespace text remains
    return found.start()
