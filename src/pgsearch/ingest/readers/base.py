"""What every reader shares: the Reader interface, the documents it returns and its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

TITLE_MAX_CHARS = 120  # a longer first line is prose, not a title


@dataclass(frozen=True)
class ParsedDocument:
    """One document from a file: its text, JSON metadata and a stable external id."""

    text: str
    metadata: dict[str, Any]
    external_id: str


class ReadError(ValueError):
    """The bytes are not a valid file of the reader's format; the caller names the file."""

    def __init__(self, reason: str, *, line: int | None = None, item: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line  # 1-based line number (JSON, JSON Lines)
        self.item = item  # 0-based index in a JSON list


class Reader(Protocol):
    """Turns the bytes of one file into documents, knowing nothing of paths or folders."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """Parse `data`; `source` names the file in metadata and default ids. Raise ReadError."""
        ...


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped) that is not blank and has no NUL; ReadError otherwise."""
    try:
        text = data.decode("utf-8-sig")  # also accepts plain UTF-8
    except UnicodeDecodeError as e:
        raise ReadError(f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})") from e
    if not text.strip():
        raise ReadError("empty file")
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and a text file with NUL is almost always binary.
        raise ReadError("contains NUL characters (binary file?)")
    return text


def clean_title(title: str) -> str | None:
    """Whitespace collapsed and cut to TITLE_MAX_CHARS; None if nothing is left."""
    title = " ".join(title.split())
    return title[:TITLE_MAX_CHARS] or None


def first_line_title(text: str) -> str | None:
    """The first non-blank line, if short enough to be a title."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return clean_title(stripped) if len(stripped) <= TITLE_MAX_CHARS else None
    return None


def whole_file(text: str, *, source: str, fmt: str, title: str | None) -> list[ParsedDocument]:
    """The file as one document, identified by its source name."""
    metadata: dict[str, Any] = {"source": source, "format": fmt}
    if title:
        metadata["title"] = title
    return [ParsedDocument(text=text, metadata=metadata, external_id=source)]
