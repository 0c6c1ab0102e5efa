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
    """Body of `POST .../documents/delete`: the documents whose metadata match `filter`, or
    those with these `external_ids`, are deleted (give one of the two)."""

    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] | None = Field(
        default=None, min_length=1, examples=[{"source": "old-crawl"}]
    )
    external_ids: list[ExternalId] | None = Field(
        default=None, min_length=1, max_length=MAX_BATCH_DOCUMENTS, examples=[["docs/intro.md"]]
    )

    @model_validator(mode="after")
    def _one_selector(self) -> DeleteByFilter:
        if (self.filter is None) == (self.external_ids is None):
            raise ValueError("give either `filter` or `external_ids`")
        return self


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
    highlight: bool = Field(
        default=False,
        description="Add to each result a `highlight`: an excerpt of its chunk with the query's "
        "words between U+E000 and U+E001",
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
    highlight: str | None = Field(
        default=None,
        description="With `highlight: true` and a `query`: an excerpt of `text` (PostgreSQL's "
        "`ts_headline`), each matched word between U+E000 and U+E001 (characters removed from "
        "the text first, so every marker is one)",
    )


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


# -- file uploads -------------------------------------------------------------------------------


class UploadedDocument(BaseModel):
    """A document stored from an uploaded file (a JSON or JSON Lines file may hold several)."""

    filename: str
    id: int
    chunks: int
    status: Literal["created", "replaced", "unchanged"]


class UploadError(BaseModel):
    """An uploaded file that was not stored, and why."""

    filename: str
    error: str = Field(examples=["encrypted PDF: a password is needed to read it"])


class UploadResult(BaseModel):
    """What an upload stored; bad files are in `errors` and did not stop the others."""

    documents: list[UploadedDocument]
    errors: list[UploadError]


def parse_upload_metadata(raw: str | None) -> dict[str, Any]:
    """The `metadata` form field of an upload: a JSON object; ValueError says what is wrong."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except ValueError as e:
        raise ValueError(f"metadata is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise ValueError('metadata must be a JSON object, e.g. {"team": "docs"}')
    return _check_metadata(value)


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; PostgreSQL jsonb does not.
    raise ValueError(f"{name} is not valid JSON")


# -- documents by external id -----------------------------------------------------------------


class ExternalIdLookup(BaseModel):
    """Body of `POST .../documents/lookup`."""

    model_config = ConfigDict(extra="forbid")

    external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_BATCH_DOCUMENTS)


class DocumentDetails(BaseModel):
    """Documents with their text, in the order asked; ids that match nothing are left out."""

    documents: list[DocumentDetail]


# -- embeddings (OpenAI-compatible) -----------------------------------------------------------

MAX_EMBEDDING_INPUTS = MAX_BATCH_DOCUMENTS
# About OpenAI's 8,191-token input limit in characters; the model reads only its first tokens.
MAX_EMBEDDING_INPUT_CHARS = 32_000

EmbeddingInput = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_EMBEDDING_INPUT_CHARS),
    AfterValidator(lambda v: _storable(v, "input")),
]


class EmbeddingRequest(BaseModel):
    """Body of `POST /v1/embeddings`, as OpenAI's embeddings API takes it (texts only)."""

    model_config = ConfigDict(extra="forbid")

    input: EmbeddingInput | list[EmbeddingInput] = Field(
        description=f"A text, or up to {MAX_EMBEDDING_INPUTS:,} texts",
        examples=[["PostgreSQL is a database.", "pgvector adds vectors"]],
    )
    model: str | None = Field(
        default=None,
        max_length=200,
        description="The server's built-in model (its name, or the `PGSEARCH_EMBEDDING_MODEL` "
        "value); omitted = that model",
        examples=["minilm"],
    )
    encoding_format: Literal["float", "base64"] = Field(
        default="float", description="`base64`: little-endian float32 bytes, base64-encoded"
    )
    dimensions: int | None = Field(
        default=None, ge=1, description="Must be the model's dimension if given"
    )
    user: str | None = Field(default=None, max_length=256, description="Accepted and ignored")

    @field_validator("input")
    @classmethod
    def _input_count(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not 1 <= len(v) <= MAX_EMBEDDING_INPUTS:
            raise ValueError(f"input must hold 1 to {MAX_EMBEDDING_INPUTS:,} texts, not {len(v)}")
        return v

    @property
    def texts(self) -> list[str]:
        """The input as a list."""
        return [self.input] if isinstance(self.input, str) else list(self.input)


class EmbeddingData(BaseModel):
    """One input's vector."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    """Input size; pgsearch counts whitespace-separated words, not the model's tokens."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    """Body of a `POST /v1/embeddings` answer: one vector per input, in input order."""

    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str = Field(examples=["all-MiniLM-L6-v2-int8"])
    usage: EmbeddingUsage


# -- who is calling -------------------------------------------------------------------------


class Me(BaseModel):
    """Body of `GET /me`: who the request's key belongs to."""

    auth: bool = Field(description="Whether API keys are required (`PGSEARCH_ADMIN_KEY` set)")
    admin: bool = Field(description="The admin key (or anyone, with auth off)")
    user_id: int | None = Field(default=None, description="The user a user key belongs to")
