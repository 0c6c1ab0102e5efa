"""Ingest files from disk: parse, then store in batches (one transaction per batch)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from pgsearch.embedding import Embedder
from pgsearch.errors import PgsearchError
from pgsearch.ingest.files import FileParseError, parse_file
from pgsearch.schemas import DocumentCreate, validation_message
from pgsearch.services.documents import store_documents


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: Path
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None


@dataclass
class _Parsed:
    path: Path
    docs: list[DocumentCreate] = field(default_factory=list)


def _parse(path: Path, root: Path | None, metadata: dict[str, Any]) -> _Parsed | FileOutcome:
    try:
        parsed = parse_file(path, root=root)
    except FileParseError as exc:
        return FileOutcome(path, error=str(exc))
    except OSError as exc:
        return FileOutcome(path, error=f"{path}: {exc.strerror or exc}")
    docs: list[DocumentCreate] = []
    for i, doc in enumerate(parsed):
        try:
            docs.append(
                DocumentCreate(
                    text=doc.text,
                    metadata={**doc.metadata, **metadata},
                    external_id=doc.external_id,
                )
            )
        except ValidationError as exc:
            label = f"document {i + 1}" if len(parsed) > 1 else "document"
            return FileOutcome(path, error=f"{path}: {label}: {validation_message(exc)}")
    return _Parsed(path, docs)


def ingest_files(
    sessions: sessionmaker[Session],
    *,
    user_id: int,
    files: Iterable[tuple[Path, Path | None]],
    embedder: Embedder,
    metadata: dict[str, Any] | None = None,
    batch_documents: int = 64,
) -> Iterator[FileOutcome]:
    """Store every (file, root) as documents; yields one outcome per file, bad files included."""
    pending: list[_Parsed] = []
    size = 0
    for path, root in files:
        parsed = _parse(path, root, metadata or {})
        if isinstance(parsed, FileOutcome):
            yield parsed
            continue
        pending.append(parsed)
        size += len(parsed.docs)
        if size >= batch_documents:
            yield from _store(sessions, user_id, pending, embedder)
            pending, size = [], 0
    if pending:
        yield from _store(sessions, user_id, pending, embedder)


def _store(
    sessions: sessionmaker[Session], user_id: int, group: Sequence[_Parsed], embedder: Embedder
) -> Iterator[FileOutcome]:
    docs = [d for p in group for d in p.docs]
    try:
        with sessions.begin() as session:
            result = store_documents(
                session, user_id=user_id, docs=docs, embedder=embedder, dim=embedder.dim
            )
    except PgsearchError as exc:
        if len(group) == 1:
            yield FileOutcome(group[0].path, error=f"{group[0].path}: {exc.message}")
            return
        # One bad file must not sink the others: store the batch's files one by one.
        for parsed in group:
            yield from _store(sessions, user_id, [parsed], embedder)
        return
    start = 0
    for parsed in group:
        statuses = result.statuses[start : start + len(parsed.docs)]
        start += len(parsed.docs)
        yield FileOutcome(
            parsed.path,
            inserted=statuses.count("inserted"),
            updated=statuses.count("updated"),
            unchanged=statuses.count("unchanged"),
        )
