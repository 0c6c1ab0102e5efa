"""Find input files and parse them into documents (text, metadata, external id)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pgsearch.jsontypes import json_type_name, unstorable, unstorable_in

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".json", ".jsonl", ".ndjson"}
)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

_FORMATS = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_TITLE_MAX_CHARS = 120  # a longer first line is prose, not a title


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


@dataclass(frozen=True)
class ParsedDocument:
    """One document from a file: its text, JSON metadata and a stable external id."""

    text: str
    metadata: dict[str, Any]
    external_id: str


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield files as given and supported files inside folders, recursively and sorted."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise FileParseError(path, _unsupported(path))
            yield path
        elif path.exists():
            raise FileParseError(path, "not a regular file or folder")
        else:
            raise FileParseError(path, "no such file or folder")


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_raise_walk_error):
        # Pruning and sorting in place makes os.walk skip hidden folders and go in order.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if (
                not name.startswith(".")
                and path.suffix.lower() in SUPPORTED_SUFFIXES
                and path.is_file()
            ):
                yield path


def _raise_walk_error(error: OSError) -> None:
    raise FileParseError(error.filename or "?", error.strerror or str(error))


def _unsupported(path: Path) -> str:
    suffix = path.suffix or "(none)"
    return f"unsupported file type {suffix!r} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


def parse_file(
    path: Path, *, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[ParsedDocument]:
    """Parse one file into documents; raise FileParseError with a one-line reason."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FileParseError(path, _unsupported(path))
    source = _relative_name(path, root)
    text = _read_text(path, max_bytes)
    if fmt in ("json", "jsonl"):
        return _parse_json_documents(path, text, source=source, fmt=fmt)
    if fmt == "html":
        body, title = _html_to_text(path, text)
    else:
        body, title = text, _title(text, fmt)
    if not body.strip():
        raise FileParseError(path, "no visible text" if fmt == "html" else "empty file")
    metadata: dict[str, Any] = {"source": source, "format": fmt}
    if title:
        metadata["title"] = title
    return [ParsedDocument(text=body, metadata=metadata, external_id=source)]


def _relative_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass  # not under root: fall back to the path as given
    return path.as_posix()


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        with path.open("rb") as f:
            # Read one byte past the cap instead of trusting stat(): the file may grow.
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileParseError(path, e.strerror or str(e)) from e
    if len(data) > max_bytes:
        raise FileParseError(path, f"file is larger than the {_size(max_bytes)} limit")
    try:
        text = data.decode("utf-8-sig")  # also accepts plain UTF-8
    except UnicodeDecodeError as e:
        raise FileParseError(
            path, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from e
    if not text.strip():
        raise FileParseError(path, "empty file")
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and a text file with NUL is almost always binary.
        raise FileParseError(path, "contains NUL characters (binary file?)")
    return text


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


# --- titles -------------------------------------------------------------------------------

_ATX_HEADING = re.compile(r"#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r"(`{3,}|~{3,})")
# RST section adornment: one repeated punctuation character.
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")
_SETEXT = re.compile(r"(=+|-+)[ \t]*")


def _title(text: str, fmt: str) -> str | None:
    lines = text.splitlines()
    if fmt == "md":
        lines, front_title = _split_front_matter(lines)
        title = front_title or _markdown_heading(lines)
    elif fmt == "rst":
        title = _rst_title(lines)
    else:
        title = None
    return title or _first_line(lines)


def _split_front_matter(lines: list[str]) -> tuple[list[str], str | None]:
    """Drop a leading YAML front-matter block; return its `title:` if it has one."""
    if not lines or lines[0].strip() != "---":
        return lines, None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            title = None
            for line in lines[1:i]:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "title":
                    title = value.strip().strip("\"'") or None
                    break
            return lines[i + 1 :], title
    return lines, None  # no closing line: not front matter


def _markdown_heading(lines: list[str]) -> str | None:
    fence: str | None = None
    previous = ""
    for line in lines:
        stripped = line.strip()
        fence_match = _FENCE.match(stripped)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            previous = ""
            continue
        if fence is not None:
            continue
        atx = _ATX_HEADING.fullmatch(stripped)
        if atx:
            return _clean_title(atx.group(1))
        if previous and _SETEXT.fullmatch(stripped):
            return _clean_title(previous)
        previous = stripped
    return None


def _rst_title(lines: list[str]) -> str | None:
    for i in range(len(lines) - 1):
        candidate = lines[i].strip()
        underline = lines[i + 1].rstrip()
        if (
            candidate
            and not _RST_ADORNMENT.fullmatch(candidate)
            and _RST_ADORNMENT.fullmatch(underline)
            and len(underline) >= len(candidate)
        ):
            return _clean_title(candidate)
    return None


def _first_line(lines: list[str]) -> str | None:
    for line in lines:
        stripped = line.strip()
        if stripped:
            return stripped if len(stripped) <= _TITLE_MAX_CHARS else None
    return None


def _clean_title(title: str) -> str | None:
    title = " ".join(title.split())
    return title[:_TITLE_MAX_CHARS] or None


# --- HTML ---------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"head", "noscript", "script", "style", "svg", "template", "title"})
# Tags that separate paragraphs (blank line) or lines (line break) in the visible text.
_PARAGRAPH_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dl", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav",
        "ol", "p", "pre", "section", "table", "ul",
    }
)  # fmt: skip
_LINE_TAGS = frozenset(
    {"br", "caption", "dd", "div", "dt", "figcaption", "li", "option", "summary", "tr"}
)
_CELL_TAGS = frozenset({"td", "th"})
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _TextExtractor(HTMLParser):
    """Collect visible text; block elements become line breaks, whitespace collapses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # decodes entities in text and attributes
        self.parts: list[str] = []
        self.title: str | None = None
        self.h1: str | None = None
        self._skip: list[str] = []  # open elements whose content is not visible
        self._pre = 0
        self._capture: list[str] | None = None  # text of the <title> or of the first <h1>
        self._capture_tag = ""
        self._pending_breaks = 0
        self._pending_space = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip.clear()  # </head> is optional in HTML
        if tag == "title" and self.title is None and all(t == "head" for t in self._skip):
            self._capture, self._capture_tag = [], "title"
        if tag in _SKIPPED_TAGS or (not self._skip and any(k == "hidden" for k, _ in attrs)):
            if tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "h1" and self.h1 is None and self._capture is None:
            self._capture, self._capture_tag = [], "h1"
        if tag == "pre":
            self._pre += 1
        self._block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skip:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._capture is not None and tag == self._capture_tag:
            text = " ".join("".join(self._capture).split()) or None
            if tag == "title":
                self.title = text
            else:
                self.h1 = text
            self._capture = None
        if self._skip:
            if tag in self._skip:
                # Close the innermost matching element and anything left open inside it.
                del self._skip[len(self._skip) - 1 - self._skip[::-1].index(tag) :]
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._capture is not None and (self._capture_tag == "title" or not self._skip):
            self._capture.append(data)
        if self._skip:
            return
        if self._pre:
            self._emit(data)
            return
        collapsed = _HTML_SPACE.sub(" ", data)
        if collapsed.startswith(" "):
            self._pending_space = True
        words = collapsed.strip(" ")
        if words:
            self._emit(words)
            self._pending_space = collapsed.endswith(" ")

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._pending_breaks = max(self._pending_breaks, 2)
        elif tag in _LINE_TAGS:
            self._pending_breaks = max(self._pending_breaks, 1)
        elif tag in _CELL_TAGS:
            self._pending_space = True

    def _emit(self, text: str) -> None:
        if self.parts:
            if self._pending_breaks:
                self.parts.append("\n" * self._pending_breaks)
            elif self._pending_space:
                self.parts.append(" ")
        self.parts.append(text)
        self._pending_breaks = 0
        self._pending_space = False


def _html_to_text(path: Path, html: str) -> tuple[str, str | None]:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception as e:  # html.parser is lenient; guard against its rare internal errors
        raise FileParseError(path, f"cannot parse HTML: {e}") from e
    return "".join(parser.parts).strip(), _clean_title(parser.title or parser.h1 or "")


# --- JSON / JSON Lines --------------------------------------------------------------------

_ID_KEYS = ("external_id", "id")
_RESERVED_KEYS = frozenset({"text", "metadata", *_ID_KEYS})


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; PostgreSQL jsonb does not.
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


class _InvalidDocument(ValueError):
    """One JSON document is invalid; the caller adds where it is."""


def _parse_json_documents(path: Path, text: str, *, source: str, fmt: str) -> list[ParsedDocument]:
    # (line number for JSON Lines, else None; the parsed value)
    items: list[tuple[int | None, Any]] = []
    is_list = False
    if fmt == "json":
        try:
            data = _loads(text)
        except json.JSONDecodeError as e:
            raise FileParseError(
                path, f"invalid JSON: {e.msg} (column {e.colno})", line=e.lineno
            ) from e
        except ValueError as e:
            raise FileParseError(path, f"invalid JSON: {e}") from e
        if isinstance(data, dict):
            items = [(None, data)]
        elif isinstance(data, list) and data:
            items, is_list = [(None, obj) for obj in data], True
        elif isinstance(data, list):
            raise FileParseError(path, "empty list: no documents")
        else:
            raise FileParseError(
                path, "expected an object with a 'text' field or a list of such objects"
            )
    else:
        # Split on "\n" only: str.splitlines() would also split on U+2028 inside JSON strings.
        for number, raw_line in enumerate(text.split("\n"), start=1):
            if not raw_line.strip():
                continue
            try:
                items.append((number, _loads(raw_line)))
            except json.JSONDecodeError as e:
                raise FileParseError(
                    path, f"invalid JSON: {e.msg} (column {e.colno})", line=number
                ) from e
            except ValueError as e:
                raise FileParseError(path, f"invalid JSON: {e}", line=number) from e

    documents: list[ParsedDocument] = []
    first_seen: dict[str, str] = {}
    for index, (line, obj) in enumerate(items):
        item = index if is_list else None
        try:
            document = _json_document(obj, source=source, fmt=fmt, index=index)
            first = first_seen.get(document.external_id)
            if first is not None:
                raise _InvalidDocument(f"duplicate id {document.external_id!r} (first at {first})")
        except _InvalidDocument as e:
            raise FileParseError(path, str(e), line=line, item=item) from None
        first_seen[document.external_id] = f"line {line}" if line is not None else f"item {index}"
        documents.append(document)
    return documents


def _json_document(obj: Any, *, source: str, fmt: str, index: int) -> ParsedDocument:
    if not isinstance(obj, dict):
        raise _InvalidDocument(f"expected an object, got {json_type_name(obj)}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _InvalidDocument("'text' must be a non-empty string")
    problem = unstorable(text)
    if problem:
        raise _InvalidDocument(f"'text' contains {problem} (PostgreSQL cannot store it)")

    user_metadata = obj.get("metadata")
    if user_metadata is None:
        user_metadata = {}
    elif not isinstance(user_metadata, dict):
        raise _InvalidDocument(f"'metadata' must be an object, got {json_type_name(user_metadata)}")

    external_id: str | None = None
    for key in _ID_KEYS:
        value = obj.get(key)
        if value is None:
            continue  # null ids are common in exports; treat them as absent
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _InvalidDocument(
                f"{key!r} must be a string or an integer, got {json_type_name(value)}"
            )
        value = str(value)
        if not value.strip():
            raise _InvalidDocument(f"{key!r} must not be empty")
        problem = unstorable(value)
        if problem:
            raise _InvalidDocument(f"{key!r} contains {problem} (PostgreSQL cannot store it)")
        if external_id is not None and value != external_id:
            raise _InvalidDocument("'id' and 'external_id' differ; give only one")
        external_id = value
    if external_id is None:
        external_id = f"{source}#{index}"

    # Other top-level fields (title, url, ...) are metadata too; explicit "metadata" wins,
    # and both win over the defaults because they are the user's own data.
    extra = {k: v for k, v in obj.items() if k not in _RESERVED_KEYS}
    metadata: dict[str, Any] = {"source": source, "format": fmt, **extra, **user_metadata}
    problem = unstorable_in(metadata)
    if problem:
        raise _InvalidDocument(f"metadata contains {problem} (PostgreSQL cannot store it)")
    return ParsedDocument(text=text, metadata=metadata, external_id=external_id)
