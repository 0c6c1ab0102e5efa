"""chunk_text: boundaries, limits, overlap, no lost text, linear time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgsearch.ingest.chunking import chunk_text


def spans(text: str, chunks: list[str]) -> list[tuple[int, int]]:
    """Where each chunk sits in text, found left to right.

    The test texts make every chunk unique except one made only of separator characters (a "."
    left after a hard cut), so each chunk is looked for after the previous one's start, first
    right where the previous one ends (no overlap), then anywhere.
    """
    result: list[tuple[int, int]] = []
    prev_start, prev_end = -1, 0
    for chunk in chunks:
        after_gap = len(text) - len(text[prev_end:].lstrip())
        if text.startswith(chunk, after_gap):
            start = after_gap
        else:
            start = text.find(chunk, prev_start + 1)
        assert start != -1, f"chunk is not in the text after the previous one: {chunk[:40]!r}"
        result.append((start, start + len(chunk)))
        prev_start, prev_end = result[-1]
    return result


def assert_valid(text: str, chunks: list[str], *, max_chars: int, overlap: int) -> None:
    """Chunks fit, are stripped, go forward, overlap by at most `overlap`, and lose nothing."""
    assert chunks, "non-blank text gives at least one chunk"
    for chunk in chunks:
        assert 0 < len(chunk) <= max_chars
        assert chunk == chunk.strip()
    positions = spans(text, chunks)
    assert positions[0][0] == len(text) - len(text.lstrip())
    assert positions[-1][1] == len(text.rstrip())
    for (start, end), (next_start, _) in zip(positions, positions[1:], strict=False):
        assert start < next_start
        # Nothing but whitespace between chunks: every other character is in some chunk.
        assert not text[end:next_start].strip()
        assert end - next_start <= overlap


def numbered_words(n: int, sep: str = " ") -> str:
    return sep.join(f"w{i:06d}" for i in range(n))


# --- arguments and trivial input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_chars": 49}, "max_chars must be at least 50"),
        ({"max_chars": 100, "overlap": 50}, "overlap must be >= 0 and < max_chars / 2"),
        ({"overlap": -1}, "overlap must be >= 0"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chunk_text("text", **kwargs)


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \r\n", "\u3000"])
def test_blank_text_has_no_chunks(text: str) -> None:
    assert chunk_text(text) == []


def test_short_text_is_one_stripped_chunk() -> None:
    assert chunk_text("  Hello,\r\nworld.  \n") == ["Hello,\r\nworld."]
    assert chunk_text("x" * 800) == ["x" * 800]


def test_limits_at_the_edges() -> None:
    chunk_text("x" * 1000, max_chars=50, overlap=24)
    assert chunk_text("x" * 801, overlap=0) == ["x" * 800, "x"]


# --- boundaries --------------------------------------------------------------------------


def test_prefers_paragraph_breaks() -> None:
    paragraphs = [numbered_words(40 + 10 * (i % 3))[: 300 + i] for i in range(12)]
    paragraphs = [f"p{i} {p}" for i, p in enumerate(paragraphs)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, max_chars=800, overlap=0)
    assert_valid(text, chunks, max_chars=800, overlap=0)
    for chunk in chunks:
        assert chunk.startswith("p") and chunk in text
        assert text[text.index(chunk) + len(chunk) :][:2] in ("\n\n", "")


def test_crlf_blank_lines_are_paragraph_breaks() -> None:
    text = "\r\n\r\n".join(f"para{i} " + "word " * 60 for i in range(6))
    chunks = chunk_text(text, max_chars=500, overlap=0)
    assert all(chunk.startswith("para") for chunk in chunks)
    assert_valid(text, chunks, max_chars=500, overlap=0)


def test_falls_back_to_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here, with some words." for i in range(100))
    chunks = chunk_text(text, max_chars=300, overlap=0)
    assert all(chunk.endswith(".") for chunk in chunks)
    assert all(chunk.startswith("Sentence") for chunk in chunks)


def test_falls_back_to_whitespace() -> None:
    text = numbered_words(500)
    chunks = chunk_text(text, max_chars=200, overlap=0)
    assert_valid(text, chunks, max_chars=200, overlap=0)
    assert all(len(word) == 7 for chunk in chunks for word in chunk.split())


def test_hard_cut_of_a_huge_word() -> None:
    word = "".join(chr(0x4E00 + i) for i in range(5000))  # distinct characters
    for overlap in (0, 100):
        chunks = chunk_text(f"start {word} end", max_chars=800, overlap=overlap)
        assert_valid(f"start {word} end", chunks, max_chars=800, overlap=overlap)
        assert max(len(c) for c in chunks) == 800


def test_cjk_sentences_without_spaces() -> None:
    text = "".join(f"这是第{i}个测试句子，没有空格。" for i in range(300))
    chunks = chunk_text(text, max_chars=200, overlap=0)
    assert all(chunk.endswith("。") for chunk in chunks)
    assert "".join(chunks) == text


def test_korean() -> None:
    text = " ".join(f"{i}번째 문장입니다. 한국어는 띄어쓰기를 합니다." for i in range(200))
    chunks = chunk_text(text, max_chars=300, overlap=50)
    assert_valid(text, chunks, max_chars=300, overlap=50)
    assert all(chunk.endswith(".") for chunk in chunks[:-1])


# --- overlap -----------------------------------------------------------------------------


def test_overlap_starts_at_a_word_boundary() -> None:
    text = numbered_words(1000)
    chunks = chunk_text(text, max_chars=800, overlap=100)
    assert_valid(text, chunks, max_chars=800, overlap=100)
    positions = spans(text, chunks)
    for (_, end), (next_start, _), chunk in zip(positions, positions[1:], chunks[1:], strict=False):
        assert 100 - 8 <= end - next_start <= 100  # "about overlap", minus at most one word
        assert chunk.startswith("w")


def test_no_overlap_when_zero() -> None:
    text = numbered_words(1000)
    chunks = chunk_text(text, overlap=0)
    assert " ".join(chunks) == text


def test_deterministic() -> None:
    text = "\n\n".join(numbered_words(90 + i) for i in range(20))
    assert chunk_text(text) == chunk_text(text)


# --- properties --------------------------------------------------------------------------

SEPARATORS = [" ", "  ", "\n", "\n\n", "\r\n", "\r\n\r\n", ". ", "! ", "? ", "。", "\t", " \n \n "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Random structure; every non-separator character is distinct, so chunks can be located."""
    parts: list[str] = []
    code = 0x4E00
    for _ in range(draw(st.integers(0, 40))):
        length = draw(st.integers(1, 400))
        parts.append("".join(map(chr, range(code, code + length))))
        code += length
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts)


@settings(max_examples=200, deadline=None, database=None)
@given(text=texts(), max_chars=st.integers(50, 1000), overlap_fraction=st.floats(0, 0.49))
def test_properties(text: str, max_chars: int, overlap_fraction: float) -> None:
    overlap = int(max_chars * overlap_fraction)
    chunks = chunk_text(text, max_chars=max_chars, overlap=overlap)
    if not text.strip():
        assert chunks == []
    else:
        assert_valid(text, chunks, max_chars=max_chars, overlap=overlap)
    assert chunk_text(text, max_chars=max_chars, overlap=overlap) == chunks


# --- speed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * 10_000_000, id="no-whitespace"),
        pytest.param("word " * 2_000_000, id="words"),
        pytest.param(("A sentence. " * 40 + "\n\n") * 20_000, id="paragraphs"),
        pytest.param(" " * 5_000_000 + "x" * 5_000_000, id="leading-space"),
    ],
)
def test_ten_megabytes_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    chunks = chunk_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{elapsed:.1f}s for {len(text):,} chars"
    assert all(len(chunk) <= 800 for chunk in chunks)
    assert len(chunks) >= len(text.strip()) // 800
