"""Request and response schemas (pydantic v2), separate from the ORM models."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pgsearch.analysis.languages import SUPPORTED, parse_language
from pgsearch.jsontypes import unstorable, unstorable_in


def validation_message(exc: ValidationError) -> str:
    """The first problem of a validation error, on one line (for CLI messages)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _storable(value: str, what: str) -> str:
    # Refuse what PostgreSQL cannot store (NUL, lone surrogates) instead of failing later.
    problem = unstorable(value)
    if problem:
        raise ValueError(f"{what} contains {problem}, which PostgreSQL cannot store")
    return value


Language = Annotated[
    str,
    AfterValidator(parse_language),
    Field(
        description=f"ISO 639-1 code of a supported language: {', '.join(SUPPORTED)}",
        examples=["ko"],
    ),
]

UserName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(lambda v: _storable(v, "name")),
    Field(examples=["김철수"]),
]


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx answer except validation errors."""

    detail: str = Field(examples=["user 7 not found"])


class ValidationErrorItem(BaseModel):
    """One problem found by request validation."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class UnprocessableResponse(BaseModel):
    """422: a list of validation problems, or one message for a rule checked by the service."""

    detail: list[ValidationErrorItem] | str = Field(
        examples=["embedding has 3 dimensions, expected 384"]
    )


class UserCreate(BaseModel):
    """Body of `POST /users`."""

    model_config = ConfigDict(extra="forbid")

    name: UserName
    language: Language | None = Field(
        default=None, description="Language of documents that say none (default: detected)"
    )


class UserUpdate(BaseModel):
    """Body of `PATCH /users/{id}`."""

    model_config = ConfigDict(extra="forbid")

    name: UserName | None = None
    language: Language | None = Field(
        default=None, description="Default language of documents; `null` clears it (detected)"
    )


class UserRead(BaseModel):
    """A user as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    language: str | None = None


class Health(BaseModel):
    """Body of `GET /health`."""

    status: str = Field(examples=["ok"])
    database: str = Field(examples=["up"])
    postgres_version: str | None = None
    pgvector_version: str | None = None
    schema_revision: str | None = None
    detail: str | None = None


# -- documents --------------------------------------------------------------------------------

# PostgreSQL `integer` and `bigint` bounds (ids, offsets, JSON numbers compared as bigint).
INT4_MAX = 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1

MAX_TEXT_CHARS = 1_000_000
MAX_METADATA_BYTES = 64 * 1024
MAX_CHUNKS_PER_DOCUMENT = 5_000
MAX_BATCH_DOCUMENTS = 1_000
MAX_EXTERNAL_ID_CHARS = 512

# Vectors are finite JSON numbers only: "0.5" (a string) or NaN is an error, never converted.
StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]

ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS),
    Field(description="Your own id for the document, unique per user", examples=["docs/intro.md"]),
]
Metadata = Annotated[
    dict[str, Any],
    Field(
        description="Any JSON object; filters match on it",
        examples=[{"lang": "en", "tags": ["guide"], "year": 2024}],
    ),
]


def _check_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    problem = unstorable_in(meta)
    if problem:
        raise ValueError(f"metadata contains {problem}, which PostgreSQL cannot store")
    encoded = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES // 1024} KiB")
    return meta


class ChunkIn(BaseModel):
    """A chunk with a vector computed by the client."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    embedding: list[StrictNumber] = Field(min_length=1, max_length=16_000)

    @field_validator("text")
    @classmethod
    def _text_ok(cls, v: str) -> str:
        return _storable(v, "chunk text")


class DocumentCreate(BaseModel):
    """A document to store: text (chunked and embedded by pgsearch) or your own chunks+vectors."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, examples=["PostgreSQL is a database."]
    )
    metadata: Metadata = Field(default_factory=dict)
    external_id: ExternalId | None = None
    chunks: list[ChunkIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CHUNKS_PER_DOCUMENT,
        description="Optional: your own chunks with embeddings (then `text` is stored as is)",
    )
    language: Language | None = Field(
        default=None,
        description="Language of the text; else metadata `language`/`lang`, the user's "
        "default, or detected",
    )

    @field_validator("text")
    @classmethod
    def _text_ok(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be blank")
        return _storable(v, "text")

    @field_validator("external_id")
    @classmethod
    def _external_id_ok(cls, v: str | None) -> str | None:
        return None if v is None else _storable(v, "external_id")

    @field_validator("metadata")
    @classmethod
    def _metadata_ok(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_metadata(v)


class DocumentBatch(BaseModel):
    """Body of the batch endpoint: all documents are stored, or none."""

    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentCreate] = Field(min_length=1, max_length=MAX_BATCH_DOCUMENTS)


class DocumentRead(BaseModel):
    """A stored document (without its text)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    chunk_count: int
    language: str
    metadata: dict[str, Any] = Field(validation_alias="meta")
    created_at: datetime
    updated_at: datetime


class DocumentDetail(DocumentRead):
    """A stored document with its text."""

    text: str


class BatchResult(BaseModel):
    """What a batch did."""

    inserted: int
    updated: int
    unchanged: int
    documents: list[DocumentRead]


class DocumentPage(BaseModel):
    """One page of documents; pass `next_cursor` as `after` to get the next."""

    documents: list[DocumentRead]
    next_cursor: int | None


class DeleteResult(BaseModel):
    """How many documents a delete removed."""

    deleted: int


class DeleteByFilter(BaseModel):
    """Body of delete-by-filter: documents whose metadata match `filter` are deleted."""

    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] = Field(min_length=1, examples=[{"source": "old-crawl"}])


# -- search -----------------------------------------------------------------------------------

SearchMode = Literal["hybrid", "semantic", "keyword"]


class SearchRequest(BaseModel):
    """A search over one user's documents."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(default=None, min_length=1, max_length=2_000, examples=["how do I"])
    vector: list[StrictNumber] | None = Field(default=None, min_length=1, max_length=16_000)
    k: int = Field(default=10, ge=1, le=100)
    mode: SearchMode = "hybrid"
    filter: dict[str, Any] | None = Field(default=None, examples=[{"lang": "en"}])
    language: Language | None = Field(
        default=None,
        description="Also analyse the query as this language (it always is as every language "
        "of the user's documents)",
    )

    @field_validator("query")
    @classmethod
    def _query_ok(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise ValueError("query must not be blank")
        return _storable(v, "query")

    @model_validator(mode="after")
    def _has_input(self) -> SearchRequest:
        if self.mode == "keyword" and self.query is None:
            raise ValueError("keyword search needs a `query`")
        if self.query is None and self.vector is None:
            raise ValueError("give a `query` (text) or a `vector`")
        return self


class SearchHit(BaseModel):
    """One result: a document and its best-matching chunk."""

    document_id: int
    external_id: str | None
    chunk_index: int
    text: str
    score: float
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    """Results, best first (one per document)."""

    results: list[SearchHit]
    mode: SearchMode = Field(
        description="The mode that ran: `hybrid` with only a `vector` runs `semantic`",
    )
    model: str | None = Field(default=None, description="Embedding model used for `query`")


# -- API keys ---------------------------------------------------------------------------------


class ApiKeyCreate(BaseModel):
    """Optional body of `POST /users/{id}/keys`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100, examples=["laptop"])

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str | None) -> str | None:
        return None if v is None else _storable(v, "name")


class ApiKeyRead(BaseModel):
    """A key as listed: its prefix identifies it; the secret is never shown again."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str = Field(examples=["3f9a0c2b71de"])
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A new key, with its secret (only in this response)."""

    key: str = Field(description="Send as `Authorization: Bearer <key>`", examples=["pgs_…"])
