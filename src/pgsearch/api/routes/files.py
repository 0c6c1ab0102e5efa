"""`/users/{user_id}/files`: upload files (multipart); each becomes documents like `ingest`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from pgsearch.api.deps import EmbedderDep, OwnUserId, SessionDep, SettingsDep
from pgsearch.errors import InvalidInput
from pgsearch.schemas import UploadedDocument, UploadError, UploadResult, parse_upload_metadata
from pgsearch.services.ingest import Upload, ingest_uploads

router = APIRouter(prefix="/users/{user_id}/files", tags=["files"])

_STATUS = {"inserted": "created", "updated": "replaced", "unchanged": "unchanged"}


@router.post("", response_model=UploadResult)
def upload_files(
    db: SessionDep,
    embedder: EmbedderDep,
    settings: SettingsDep,
    user_id: OwnUserId,
    # Starlette spools each file to a temporary file past 1 MB: a large body is not held in
    # memory, and the body limit (413) applies before any of it is parsed.
    files: Annotated[
        list[UploadFile],
        File(
            description="One or more files: PDF, DOCX, HTML, Markdown, reStructuredText, JSON, "
            "JSON Lines, plain text (also without a suffix), and gzip of any of these. Each "
            "document's external id is the file name, so uploading it again replaces it."
        ),
    ],
    metadata: Annotated[
        str | None,
        Form(
            description="A JSON object added to the metadata of every file's documents",
            examples=['{"team": "docs"}'],
        ),
    ] = None,
) -> UploadResult:
    """Store uploaded files as documents; a bad file is reported in `errors`, the rest stored."""
    try:
        extra = parse_upload_metadata(metadata)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    stored = ingest_uploads(
        db,
        user_id=user_id,
        uploads=[Upload(f.filename or "", f.file, f.size) for f in files],
        embedder=embedder,
        metadata=extra,
        max_bytes=settings.max_file_bytes,
    )
    return UploadResult(
        documents=[
            UploadedDocument(
                filename=s.name, id=doc.id, chunks=doc.chunk_count, status=_STATUS[status]
            )
            for s in stored
            for doc, status in zip(s.documents, s.statuses, strict=True)
        ],
        errors=[UploadError(filename=s.name, error=s.error) for s in stored if s.error],
    )
