"""JSON and JSON Lines: records with a "text" field, each one document with its own metadata."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgsearch.ingest.readers.base import ParsedDocument, ReadError, decode_text
from pgsearch.jsontypes import json_type_name, unstorable, unstorable_in

_ID_KEYS = ("external_id", "id")
_RESERVED_KEYS = frozenset({"text", "metadata", *_ID_KEYS})


@dataclass(frozen=True)
class JsonReader:
    """Reads one object or a non-empty list of objects."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """One document per object."""
        value = _loads(decode_text(data))
        if isinstance(value, dict):
            return _documents([(None, value)], source=source, fmt="json", is_list=False)
        if isinstance(value, list) and value:
            items = [(None, obj) for obj in value]
            return _documents(items, source=source, fmt="json", is_list=True)
        if isinstance(value, list):
            raise ReadError("empty list: no documents")
        raise ReadError("expected an object with a 'text' field or a list of such objects")


@dataclass(frozen=True)
class JsonLinesReader:
    """Reads one object per line; blank lines are skipped."""

    def read(self, data: bytes, *, source: str) -> list[ParsedDocument]:
        """One document per line."""
        # Split on "\n" only: str.splitlines() would also split on U+2028 inside JSON strings.
        lines = enumerate(decode_text(data).split("\n"), start=1)
        items = [(number, _loads(line, line=number)) for number, line in lines if line.strip()]
        return _documents(items, source=source, fmt="jsonl", is_list=False)


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; PostgreSQL jsonb does not.
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str, *, line: int | None = None) -> Any:
    """The decoded value; ReadError at `line` (else where the decoder stopped) if invalid."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        where = line if line is not None else e.lineno
        raise ReadError(f"invalid JSON: {e.msg} (column {e.colno})", line=where) from e
    except ValueError as e:
        raise ReadError(f"invalid JSON: {e}", line=line) from e


class _InvalidDocument(ValueError):
    """One JSON document is invalid; the caller adds where it is."""


def _documents(
    items: Sequence[tuple[int | None, Any]], *, source: str, fmt: str, is_list: bool
) -> list[ParsedDocument]:
    """Documents from (line number for JSON Lines, else None; parsed value) pairs."""
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
            raise ReadError(str(e), line=line, item=item) from None
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
