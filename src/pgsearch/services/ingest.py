"""Store files as documents: parsed by the ingest readers, written by the document service.

The CLI (files on disk, one transaction per batch) and the upload endpoint (one request's
transaction) share `to_documents` and `store_files`; one bad file never sinks the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from pgsearch.embedding import Embedder
from pgsearch.errors import PgsearchError
from pgsearch.ingest.files import (
    DEFAULT_MAX_BYTES,
    FileParseError,
    parse_bytes,
    parse_file,
    too_large,
)
from pgsearch.ingest.readers.base import ParsedDocument
from pgsearch.models import Document
from pgsearch.schemas import DocumentCreate, validation_message
from pgsearch.services.documents import Status, lock_user, store_documents


@dataclass
class FileOutcome:
    """What happened to one file on disk."""

    path: Path
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None


@dataclass
class ParsedFile:
    """A file's documents, ready to store; `name` is how answers name the file."""

    name: str
    docs: list[DocumentCreate] = field(default_factory=list)


@dataclass
class StoredFile:
    """A file's stored documents and their statuses, or why it was not stored."""

    name: str
    documents: list[Document] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    error: str | None = None


class InvalidFileDocument(ValueError):
    """A parsed document does not make a valid `DocumentCreate` (too long, bad metadata...)."""


def to_documents(
    parsed: Sequence[ParsedDocument], metadata: dict[str, Any]
) -> list[DocumentCreate]:
    """The documents to store, `metadata` over each reader's own (the caller's data wins)."""
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
            raise InvalidFileDocument(f"{label}: {validation_message(exc)}") from exc
    return docs


def store_files(
    session: Session, *, user_id: int, files: Sequence[ParsedFile], embedder: Embedder
) -> list[StoredFile]:
    """Store the files' documents in the caller's transaction, all in one go when they are all
    valid, else file by file (each in a savepoint) so that one bad file fails alone."""
    lock_user(session, user_id)  # an unknown user fails the whole call, not each file
    try:
        with session.begin_nested():
            docs = [d for f in files for d in f.docs]
            result = store_documents(
                session, user_id=user_id, docs=docs, embedder=embedder, dim=embedder.dim
            )
    except PgsearchError as exc:
        if len(files) == 1:
            return [StoredFile(files[0].name, error=exc.message)]
        return [
            stored
            for f in files
            for stored in store_files(session, user_id=user_id, files=[f], embedder=embedder)
        ]
    stored: list[StoredFile] = []
    start = 0
    for f in files:
        statuses = result.statuses[start : start + len(f.docs)]
        documents = result.documents[start : start + len(f.docs)]
        start += len(f.docs)
        stored.append(StoredFile(f.name, documents, statuses))
    return stored


# -- files on disk (the CLI) --------------------------------------------------------------------


def _parse(
    path: Path, root: Path | None, metadata: dict[str, Any], max_bytes: int
) -> ParsedFile | FileOutcome:
    try:
        return ParsedFile(
            str(path), to_documents(parse_file(path, root=root, max_bytes=max_bytes), metadata)
        )
    except FileParseError as exc:
        return FileOutcome(path, error=str(exc))
    except InvalidFileDocument as exc:
        return FileOutcome(path, error=f"{path}: {exc}")
    except OSError as exc:
        return FileOutcome(path, error=f"{path}: {exc.strerror or exc}")


def ingest_files(
    sessions: sessionmaker[Session],
    *,
    user_id: int,
    files: Iterable[tuple[Path, Path | None]],
    embedder: Embedder,
    metadata: dict[str, Any] | None = None,
    batch_documents: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[FileOutcome]:
    """Store every (file, root) as documents; yields one outcome per file, bad files included."""
    pending: list[tuple[Path, ParsedFile]] = []
    size = 0
    for path, root in files:
        parsed = _parse(path, root, metadata or {}, max_bytes)
        if isinstance(parsed, FileOutcome):
            yield parsed
            continue
        pending.append((path, parsed))
        size += len(parsed.docs)
        if size >= batch_documents:
            yield from _store(sessions, user_id, pending, embedder)
            pending, size = [], 0
    if pending:
        yield from _store(sessions, user_id, pending, embedder)


def _store(
    sessions: sessionmaker[Session],
    user_id: int,
    group: Sequence[tuple[Path, ParsedFile]],
    embedder: Embedder,
) -> Iterator[FileOutcome]:
    with sessions.begin() as session:
        stored = store_files(
            session, user_id=user_id, files=[f for _, f in group], embedder=embedder
        )
    for (path, _), s in zip(group, stored, strict=True):
        if s.error is not None:
            yield FileOutcome(path, error=f"{path}: {s.error}")
        else:
            yield FileOutcome(
                path,
                inserted=s.statuses.count("inserted"),
                updated=s.statuses.count("updated"),
                unchanged=s.statuses.count("unchanged"),
            )


# -- uploads (the HTTP API) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as sent, its content (spooled to disk when large) and size."""

    filename: str
    file: BinaryIO
    size: int | None


def ingest_uploads(
    session: Session,
    *,
    user_id: int,
    uploads: Sequence[Upload],
    embedder: Embedder,
    metadata: dict[str, Any],
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[StoredFile]:
    """Parse and store uploaded files (each document's external id is its file name); bad
    files come back with their error, in upload order."""
    lock_user(session, user_id)
    results: dict[int, StoredFile] = {}
    parsed: list[tuple[int, ParsedFile]] = []
    seen: set[str] = set()
    for i, upload in enumerate(uploads):
        name = upload.filename
        try:
            if not name.strip():
                raise InvalidFileDocument("the file part has no file name")
            if name in seen:
                raise InvalidFileDocument("the same file name appears twice in the upload")
            seen.add(name)
            docs = to_documents(_parse_upload(upload, max_bytes), metadata)
        except FileParseError as exc:
            results[i] = StoredFile(name, error=exc.detail)
        except InvalidFileDocument as exc:
            results[i] = StoredFile(name, error=str(exc))
        else:
            parsed.append((i, ParsedFile(name, docs)))
    if parsed:
        files = [f for _, f in parsed]
        for (i, _), stored in zip(
            parsed,
            store_files(session, user_id=user_id, files=files, embedder=embedder),
            strict=True,
        ):
            results[i] = stored
    return [results[i] for i in range(len(uploads))]


def _parse_upload(upload: Upload, max_bytes: int) -> list[ParsedDocument]:
    name = upload.filename
    if upload.size is not None and upload.size > max_bytes:
        raise FileParseError(name, too_large(upload.size, max_bytes))  # without reading it
    upload.file.seek(0)
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileParseError(name, too_large(len(data), max_bytes))
    return parse_bytes(data, name=name, source=name, max_bytes=max_bytes)
