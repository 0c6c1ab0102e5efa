"""The 1M-chunk bench's corpus (bench/realtext.py): which files, no repeated chunks, sizes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench import realtext
from bench.realtext import TextDocument


def doc(external_id: str, *chunks: str) -> TextDocument:
    return TextDocument(external_id, " ".join(chunks), list(chunks))


def test_doc_files_keeps_text_and_leaves_out_markup_images_and_licences(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name in ("README", "notes.txt", "guide.rst", "copyright", "index.html", "logo.png"):
        (pkg / name).write_text("text")
    (pkg / "changelog.Debian.gz").write_bytes(gzip.compress(b"text"))
    (pkg / "manual.html.gz").write_bytes(gzip.compress(b"<p>text</p>"))
    (pkg / "link.txt").symlink_to(pkg / "notes.txt")

    names = [p.name for p in realtext.doc_files([tmp_path])]

    assert names == ["README", "changelog.Debian.gz", "guide.rst", "notes.txt"]


def test_read_text_unpacks_gzip_and_refuses_binary(tmp_path: Path) -> None:
    packed = tmp_path / "changelog.gz"
    packed.write_bytes(gzip.compress("héllo".encode()))
    binary = tmp_path / "data"
    binary.write_bytes(b"ab\x00cd")
    latin1 = tmp_path / "old.txt"
    latin1.write_bytes("héllo".encode("latin-1"))

    assert realtext.read_text(packed) == "héllo"
    assert realtext.read_text(binary) is None
    assert realtext.read_text(latin1) is None


def test_a_repeated_chunk_counts_once_and_a_document_of_copies_is_dropped() -> None:
    docs = [doc("a", "one", "two"), doc("b", "two", "three"), doc("c", "one", "three")]

    kept = list(realtext.unique_chunks(docs, set()))

    assert [(d.external_id, d.chunks) for d in kept] == [("a", ["one", "two"]), ("b", ["three"])]


def test_first_chunks_cuts_the_last_document_to_fit() -> None:
    docs = [doc("a", "1", "2"), doc("b", "3", "4", "5"), doc("c", "6")]

    kept = realtext.first_chunks(docs, 4)

    assert [(d.external_id, d.chunks) for d in kept] == [("a", ["1", "2"]), ("b", ["3", "4"])]
    assert realtext.first_chunks(docs, None) == docs


def test_split_parts_cuts_long_text_at_line_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtext, "PART_CHARS", 1_000)
    text = ("x" * 69 + "\n") * 40  # 2,800 characters, a line break every 70

    parts = realtext.split_parts(text)

    assert "".join(parts) == text
    assert [len(p) for p in parts] == [980, 980, 840]
    assert all(p.endswith("\n") for p in parts)
