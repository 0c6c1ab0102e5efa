"""Parse one file with the reader for its type; the registry of supported file types."""

from __future__ import annotations

from pathlib import Path, PurePath

from pgsearch.ingest.readers.base import ParsedDocument, Reader, ReadError
from pgsearch.ingest.readers.html import HtmlReader
from pgsearch.ingest.readers.records import JsonLinesReader, JsonReader
from pgsearch.ingest.readers.text import TextReader

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_READERS: dict[str, Reader] = {
    ".txt": TextReader("txt"),
    ".md": TextReader("md"),
    ".markdown": TextReader("md"),
    ".rst": TextReader("rst"),
    ".html": HtmlReader(),
    ".htm": HtmlReader(),
    ".json": JsonReader(),
    ".jsonl": JsonLinesReader(),
    ".ndjson": JsonLinesReader(),
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_READERS)


class FileParseError(Exception):
    """A file could not be read or parsed; str() is a one-line message naming the file."""

    def __init__(
        self, path: Path | str, reason: str, *, line: int | None = None, item: int | None = None
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line  # 1-based line number (JSON, JSON Lines)
        self.item = item  # 0-based index in a JSON list
        where = self.path.as_posix()
        if line is not None:
            where += f" line {line}"
        if item is not None:
            where += f" item {item}"
        super().__init__(f"{where}: {reason}")


def reader_for(name: str) -> Reader | None:
    """The reader for a file name, or None if its type is not supported."""
    return _READERS.get(PurePath(name).suffix.lower())


def unsupported_reason(name: str) -> str:
    """Why a file of this name is not read, listing the supported types."""
    suffix = PurePath(name).suffix or "(none)"
    return f"unsupported file type {suffix!r} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


def parse_file(
    path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[ParsedDocument]:
    """Parse one file into documents; raise FileParseError with a one-line reason."""
    if reader_for(path.name) is None:
        raise FileParseError(path, unsupported_reason(path.name))  # before touching the disk
    return parse_bytes(_read_bytes(path, max_bytes), name=path, source=_relative_name(path, root))


def parse_bytes(data: bytes, *, name: Path | str, source: str) -> list[ParsedDocument]:
    """Parse the content of a file called `name` (its type comes from the name); `source`
    names it in metadata and default ids. Raise FileParseError with a one-line reason."""
    reader = reader_for(str(name))
    if reader is None:
        raise FileParseError(name, unsupported_reason(str(name)))
    try:
        return reader.read(data, source=source)
    except ReadError as e:
        raise FileParseError(name, e.reason, line=e.line, item=e.item) from e


def _relative_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass  # not under root: fall back to the path as given
    return path.as_posix()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as f:
            # Read one byte past the cap instead of trusting stat(): the file may grow.
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileParseError(path, e.strerror or str(e)) from e
    if len(data) > max_bytes:
        raise FileParseError(path, f"file is larger than the {_size(max_bytes)} limit")
    return data


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"
