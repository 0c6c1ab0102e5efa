"""PDF, DOCX, gzip and extensionless text, and the limits on untrusted files (no database)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from pgsearch.ingest.files import SNIFF_BYTES, FileParseError, file_kind, parse_bytes, parse_file
from tests.fixture_files import gz, make_docx, make_pdf, make_zip_bomb

MB = 1024 * 1024


def parse(data: bytes, name: str, **kwargs: int) -> list[dict[str, object]]:
    return [
        {"text": d.text, "external_id": d.external_id, **d.metadata}
        for d in parse_bytes(data, name=name, source=name, **kwargs)
    ]


def error(data: bytes, name: str, **kwargs: int) -> str:
    with pytest.raises(FileParseError) as info:
        parse_bytes(data, name=name, source=name, **kwargs)
    assert str(info.value).startswith(f"{name}: ")
    return info.value.reason


# --- formats -----------------------------------------------------------------------------


def test_pdf_pages_and_title() -> None:
    data = make_pdf(["Hello PDF world", "Second page"], title="My Paper")
    assert parse(data, "paper.pdf") == [
        {
            "text": "Hello PDF world\n\nSecond page",
            "external_id": "paper.pdf",
            "source": "paper.pdf",
            "format": "pdf",
            "title": "My Paper",
            "pages": 2,
        }
    ]
    # Without a title in the PDF's info, the first line is the title.
    assert parse(make_pdf(["Only page"]), "a.PDF")[0]["title"] == "Only page"


def test_pdf_encrypted_with_empty_user_password_is_read() -> None:
    # "Restrictions only" PDFs: anyone may open them, so they are read.
    assert parse(make_pdf(["Open to all"], password=""), "r.pdf")[0]["text"] == "Open to all"


def test_pdf_errors() -> None:
    assert error(make_pdf(["secret"], password="pw"), "locked.pdf") == (
        "encrypted PDF: a password is needed to read it"
    )
    assert error(b"%PDF-1.4\n garbage", "corrupt.pdf").startswith("cannot read PDF: ")
    assert error(make_pdf(["cut short"])[:150], "truncated.pdf").startswith("cannot read PDF: ")
    assert error(b"not a pdf at all", "fake.pdf").startswith("cannot read PDF: ")
    assert error(make_pdf([""]), "scan.pdf") == (
        "PDF has no text layer (scanned pages? run OCR first)"
    )


def test_docx_paragraphs_tables_and_title() -> None:
    data = make_docx(
        title="Quarterly report",
        paragraphs=["Sales grew.", "Costs fell."],
        table=[["region", "sales"], ["north", "12"]],
    )
    assert parse(data, "report.docx") == [
        {
            "text": "Quarterly report\n\nSales grew.\n\nCosts fell.\n\nregion | sales\nnorth | 12",
            "external_id": "report.docx",
            "source": "report.docx",
            "format": "docx",
            "title": "Quarterly report",
        }
    ]


def test_docx_errors() -> None:
    assert error(b"PK\x03\x04 not really a zip", "bad.docx").startswith("not a valid zip container")
    assert error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "locked.docx") == (
        "encrypted (password-protected) Office file or legacy format, not a zip"
    )
    # A valid zip that is not a Word document.
    assert error(make_zip_bomb(0), "empty.docx").startswith("cannot read DOCX: ")
    assert error(make_docx(paragraphs=[]), "blank.docx") == "DOCX has no text"


def test_zip_bomb_refused_by_declared_size_and_ratio() -> None:
    # Over the size limit unpacked (though tiny packed).
    bomb = make_zip_bomb(5 * MB)
    assert len(bomb) < 50_000
    assert error(bomb, "bomb.docx", max_bytes=MB) == (
        "unpacks to 5 MB, more than the 1 MB limit (zip bomb?)"
    )
    # Under the size limit, but packed 1000:1.
    assert error(make_zip_bomb(2 * MB), "dense.docx").startswith("compression ratio ")


def test_gzip_of_any_format() -> None:
    assert parse(gz("# Notes\n\nbody"), "notes.md.gz") == [
        {
            "text": "# Notes\n\nbody",
            "external_id": "notes.md.gz",
            "source": "notes.md.gz",
            "format": "md",
            "title": "Notes",
        }
    ]
    assert parse(gz(make_pdf(["zipped pdf"])), "a.pdf.gz")[0]["text"] == "zipped pdf"
    docx = gz(make_docx(paragraphs=["zipped docx"]))
    assert parse(docx, "a.docx.gz")[0]["text"] == "zipped docx"
    assert parse(gz('{"text": "a record", "id": 7}'), "r.json.gz")[0]["external_id"] == "7"
    # Extensionless inside: recognised by content once unpacked.
    for name in ("changelog.Debian.gz", "README.gz"):
        assert parse(gz("Version 1.2\n\nFixes."), name)[0]["format"] == "txt"
    assert error(gz(b"\x7fELF\x00\x01"), "tool.gz").startswith("binary file (NUL bytes)")


def test_gzip_errors_and_bomb() -> None:
    assert error(b"not gzip", "a.md.gz").startswith("not a valid gzip file")
    assert error(gz("truncated text " * 100)[:40], "a.txt.gz").startswith("not a valid gzip file")
    bomb = gz(b"a" * (40 * MB))
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        message = error(bomb, "bomb.txt.gz", max_bytes=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == "unpacks to more than the 1 MB limit (gzip bomb?)"
    assert peak < 8 * MB  # unpacking stopped at the limit
    # A zip bomb inside gzip is still a zip bomb.
    assert error(gz(make_zip_bomb(5 * MB)), "bomb.docx.gz", max_bytes=MB).startswith(
        "unpacks to 5 MB"
    )


@pytest.mark.parametrize("name", ["README", "LICENSE", "README.Debian", "NEWS.old", "Makefile"])
def test_text_without_known_suffix(name: str) -> None:
    [doc] = parse("Project notes\n\nSee ünïcode.".encode(), name)
    assert doc == {
        "text": "Project notes\n\nSee ünïcode.",
        "external_id": name,
        "source": name,
        "format": "txt",
        "title": "Project notes",
    }


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00", "binary file (NUL bytes)"),
        ("Café".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_not_text_without_known_suffix(content: bytes, reason: str) -> None:
    assert error(content, "README.bin2") == f"{reason}, and no reader for its name"


def test_known_unsupported_types_are_not_sniffed() -> None:
    for name, label in [
        ("logo.png", ".png"), ("data.csv", ".csv"), ("x.tar.gz", ".tar.gz"), ("a.bz2", ".bz2"),
    ]:  # fmt: skip
        assert file_kind(name).unsupported == label
        assert error(b"text", name).startswith(f"unsupported file type {label!r}")
    assert file_kind("README").unsupported is None and file_kind("README").reader is None


def test_size_limit_of_bytes() -> None:
    assert error(b"x" * 2048, "big.txt", max_bytes=1024) == (
        "file is 2 KB, larger than the 1 KB limit"
    )


def test_huge_file_refused_by_size_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GB that take no disk space
    tracemalloc.start()
    try:
        with pytest.raises(FileParseError) as info:
            parse_file(huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.reason == "file is 2 GB, larger than the 50 MB limit"
    assert peak < MB  # refused by stat(), not after reading up to the limit


def test_sniffing_allows_a_character_cut_at_the_sniff_boundary() -> None:
    text = "a" * (SNIFF_BYTES - 1) + "é and more"
    assert parse(text.encode(), "NOTES")[0]["text"] == text
