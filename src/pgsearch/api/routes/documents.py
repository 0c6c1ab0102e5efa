"""`/users/{user_id}/documents`: store, list, read and delete a user's documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from pgsearch.api.deps import (
    DocumentIdPath,
    EmbedderDep,
    OwnUserId,
    ReadOwnUserId,
    ReadSessionDep,
    SessionDep,
)
from pgsearch.schemas import (
    INT8_MAX,
    BatchResult,
    DeleteByFilter,
    DeleteResult,
    DocumentBatch,
    DocumentCreate,
    DocumentDetail,
    DocumentDetails,
    DocumentPage,
    DocumentRead,
    ExternalIdLookup,
)
from pgsearch.search.filters import parse_filter_json
from pgsearch.services import documents

router = APIRouter(prefix="/users/{user_id}/documents", tags=["documents"])


def _parse_filter(raw: str | None) -> dict[str, Any] | None:
    return None if raw is None else parse_filter_json(raw)


@router.post(
    "",
    response_model=DocumentRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": DocumentRead, "description": "Replaced or unchanged"}},
)
def create_document(
    db: SessionDep, embedder: EmbedderDep, user_id: OwnUserId, body: DocumentCreate
) -> DocumentRead | JSONResponse:
    """Store a document (201); an existing `external_id` is replaced or left unchanged (200)."""
    result = documents.store_documents(
        db, user_id=user_id, docs=[body], embedder=embedder, dim=embedder.dim, labels=False
    )
    doc = DocumentRead.model_validate(result.documents[0])
    if result.statuses[0] == "inserted":
        return doc
    return JSONResponse(doc.model_dump(mode="json"), status_code=status.HTTP_200_OK)


@router.post("/batch", response_model=BatchResult)
def create_documents(
    db: SessionDep, embedder: EmbedderDep, user_id: OwnUserId, body: DocumentBatch
) -> BatchResult:
    """Store up to 1,000 documents at once: all of them, or none on any error."""
    result = documents.store_documents(
        db, user_id=user_id, docs=body.documents, embedder=embedder, dim=embedder.dim
    )
    return BatchResult(
        inserted=result.counts["inserted"],
        updated=result.counts["updated"],
        unchanged=result.counts["unchanged"],
        documents=[DocumentRead.model_validate(d) for d in result.documents],
    )


@router.get("", response_model=DocumentPage)
def list_documents(
    db: ReadSessionDep,
    user_id: ReadOwnUserId,
    after: Annotated[
        int, Query(ge=0, le=INT8_MAX, description="`next_cursor` of the previous page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    filter: Annotated[
        str | None,
        Query(max_length=10_000, description='Metadata filter as JSON, e.g. {"lang": "en"}'),
    ] = None,
) -> DocumentPage:
    """The user's documents by id, one page at a time."""
    docs, cursor = documents.list_documents(
        db, user_id=user_id, after=after, limit=limit, filter_spec=_parse_filter(filter)
    )
    return DocumentPage(
        documents=[DocumentRead.model_validate(d) for d in docs], next_cursor=cursor
    )


@router.post("/delete", response_model=DeleteResult)
def delete_by_filter(db: SessionDep, user_id: OwnUserId, body: DeleteByFilter) -> DeleteResult:
    """Delete every document of the user whose metadata match `filter`, or with one of the
    `external_ids` (ids that match nothing are not an error)."""
    return DeleteResult(
        deleted=documents.delete_documents(
            db, user_id=user_id, filter_spec=body.filter, external_ids=body.external_ids
        )
    )


@router.post("/lookup", response_model=DocumentDetails)
def lookup_documents(
    db: ReadSessionDep, user_id: ReadOwnUserId, body: ExternalIdLookup
) -> DocumentDetails:
    """The documents with these external ids, with their text, in the order asked; ids that
    match nothing are left out."""
    found = documents.documents_by_external_ids(db, user_id=user_id, external_ids=body.external_ids)
    return DocumentDetails(documents=[DocumentDetail.model_validate(d) for d in found])


@router.get("/{document_id:int}", response_model=DocumentDetail)
def get_document(
    db: ReadSessionDep, user_id: ReadOwnUserId, document_id: DocumentIdPath
) -> DocumentDetail:
    """One document, with its text."""
    return DocumentDetail.model_validate(
        documents.get_document(db, user_id=user_id, document_id=document_id)
    )


@router.delete("/{document_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(db: SessionDep, user_id: OwnUserId, document_id: DocumentIdPath) -> Response:
    """Delete one document."""
    documents.delete_document(db, user_id=user_id, document_id=document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
