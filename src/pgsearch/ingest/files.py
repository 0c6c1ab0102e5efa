"""Parse one file with the reader for its type; the registry of supported file types.

A file's type comes from its name: a supported suffix picks the reader; a name without a suffix
(`README`) or with one no format claims (`README.Debian`) is read as plain text when its content
is UTF-8 without NUL bytes. `x.gz` is `x` compressed with gzip, unpacked under the size limit.
"""

from __future__ import annotations

import codecs
import gzip
import mimetypes
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePath

from pgsearch.ingest.archives import check_zip, gunzip, size_label
from pgsearch.ingest.readers.base import ParsedDocument, Reader, ReadError
from pgsearch.ingest.readers.docx import DocxReader
from pgsearch.ingest.readers.html import HtmlReader
from pgsearch.ingest.readers.pdf import PdfFileReader
from pgsearch.ingest.readers.records import JsonLinesReader, JsonReader
from pgsearch.ingest.readers.text import TextReader

# Each file, as stored and unpacked (gzip content, a DOCX's members in total).
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# How much of a file without a known type is read to tell text from binary.
SNIFF_BYTES = 8192

_PLAIN_TEXT = TextReader("txt")
_READERS: dict[str, Reader] = {
    ".txt": _PLAIN_TEXT,
    ".md": TextReader("md"),
    ".markdown": TextReader("md"),
    ".rst": TextReader("rst"),
    ".html": HtmlReader(),
    ".htm": HtmlReader(),
    ".json": JsonReader(),
    ".jsonl": JsonLinesReader(),
    ".ndjson": JsonLinesReader(),
    ".pdf": PdfFileReader(),
    ".docx": DocxReader(),
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_READERS)
_ZIP_SUFFIXES = frozenset({".docx"})
GZIP_SUFFIX = ".gz"


class FileParseError(Exception):
    """A file could not be read or parsed; str() is a one-line message naming the file."""

    def __init__(
        self, path: Path | str, reason: str, *, line: int | None = None, item: int | None = None
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line  # 1-based line number (JSON, JSON Lines)
        self.item = item  # 0-based index in a JSON list
        super().__init__(f"{self.path.as_posix()}{self.where}: {reason}")

    @property
    def where(self) -> str:
        """ " line 3", " item 2" or "": where in the file the problem is."""
        where = ""
        if self.line is not None:
            where += f" line {self.line}"
        if self.item is not None:
            where += f" item {self.item}"
        return where

    @property
    def detail(self) -> str:
        """The message without the file name (for answers that name the file apart)."""
        return f"{self.where.strip()}: {self.reason}" if self.where else self.reason


@dataclass(frozen=True)
class FileKind:
    """What a file name says about its content."""

    reader: Reader | None  # None: the content decides (text or binary)
    gzipped: bool
    suffix: str  # lower case, of the name without ".gz"
    unsupported: str | None = None  # the suffix of a known type no reader handles


@cache
def _known_types() -> frozenset[str]:
    # Python's built-in table only (not the machine's /etc/mime.types), so every machine agrees.
    table = mimetypes.MimeTypes()
    known = set(table.types_map[True]) | set(table.types_map[False])
    return frozenset(known | set(table.suffix_map) | set(table.encodings_map))


def file_kind(name: str) -> FileKind:
    """The reader a file name calls for, whether it is gzipped, or the unsupported suffix."""
    inner = PurePath(name)
    gzipped = inner.suffix.lower() == GZIP_SUFFIX
    if gzipped:
        inner = PurePath(inner.stem)
    suffix = inner.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is not None:
        return FileKind(reader, gzipped, suffix)
    if suffix and suffix in _known_types():
        label = suffix + (GZIP_SUFFIX if gzipped else "")
        return FileKind(None, gzipped, suffix, unsupported=label)
    return FileKind(None, gzipped, suffix)


def reader_for(name: str) -> Reader | None:
    """The reader a file name alone selects (None: unsupported, or decided by content)."""
    return file_kind(name).reader


def unsupported_reason(suffix: str) -> str:
    """Why a file with this suffix is not read, listing the supported types."""
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return (
        f"unsupported file type {suffix!r} (supported: {supported}, their .gz, and text files "
        "without a known suffix)"
    )


# Why a file without a known type is not read, by sniff() label.
NOT_TEXT_REASONS = {
    "binary": "binary file (NUL bytes), and no reader for its name",
    "not UTF-8": "not UTF-8 text, and no reader for its name",
}


def sniff(head: bytes) -> str | None:
    """None if the start of a file (SNIFF_BYTES, or all of a shorter file) is UTF-8 text without
    NUL bytes, else a label: "binary" (NUL bytes) or "not UTF-8" (a legacy encoding, mostly)."""
    if b"\x00" in head:
        return "binary"
    try:
        # A head cut at SNIFF_BYTES may end inside a character; a whole file may not.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        return "not UTF-8"
    return None


def parse_file(
    path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[ParsedDocument]:
    """Parse one file into documents; raise FileParseError with a one-line reason."""
    kind = file_kind(path.name)
    if kind.unsupported is not None:
        raise FileParseError(path, unsupported_reason(kind.unsupported))  # before touching disk
    data = _read_bytes(path, max_bytes)
    return parse_bytes(data, name=path, source=_relative_name(path, root), max_bytes=max_bytes)


def parse_bytes(
    data: bytes, *, name: Path | str, source: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[ParsedDocument]:
    """Parse the content of a file called `name` (its type comes from the name, else from the
    content); `source` names it in metadata and default ids. Raise FileParseError."""
    kind = file_kind(PurePath(name).name)
    if kind.unsupported is not None:
        raise FileParseError(name, unsupported_reason(kind.unsupported))
    if len(data) > max_bytes:
        raise FileParseError(name, too_large(len(data), max_bytes))
    try:
        if kind.gzipped:
            data = gunzip(data, max_bytes=max_bytes)
        reader = kind.reader
        if reader is None:
            label = sniff(data[:SNIFF_BYTES])
            if label is not None:
                raise ReadError(NOT_TEXT_REASONS[label])
            reader = _PLAIN_TEXT
        elif kind.suffix in _ZIP_SUFFIXES:
            check_zip(data, max_bytes=max_bytes)
        return reader.read(data, source=source)
    except ReadError as e:
        raise FileParseError(name, e.reason, line=e.line, item=e.item) from e


def sniff_file(path: Path) -> str | None:
    """`sniff` on the start of a file (gzip unpacked); None when it cannot be told (unreadable,
    damaged gzip), so that parsing reports the real problem."""
    try:
        if file_kind(path.name).gzipped:
            with gzip.open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        else:
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return None
    return sniff(head)


def too_large(size: int, max_bytes: int) -> str:
    """The message for a file over the size limit."""
    return f"file is {size_label(size)}, larger than the {size_label(max_bytes)} limit"


def _relative_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass  # not under root: fall back to the path as given
    return path.as_posix()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        # The size first: a 2 GB file is refused without reading it.
        size = path.stat().st_size
        if size > max_bytes:
            raise FileParseError(path, too_large(size, max_bytes))
        with path.open("rb") as f:
            # One byte past the cap: the file may have grown since stat().
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileParseError(path, e.strerror or str(e)) from e
    if len(data) > max_bytes:
        raise FileParseError(path, f"file is larger than the {size_label(max_bytes)} limit")
    return data
