"""Request and response schemas (pydantic v2), separate from the ORM models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

UserName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    Field(examples=["김철수"]),
]


class UserCreate(BaseModel):
    """Body of `POST /users`."""

    model_config = ConfigDict(extra="forbid")

    name: UserName


class UserUpdate(BaseModel):
    """Body of `PATCH /users/{id}`."""

    model_config = ConfigDict(extra="forbid")

    name: UserName | None = None


class UserRead(BaseModel):
    """A user as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class Health(BaseModel):
    """Body of `GET /health`."""

    status: str = Field(examples=["ok"])
    database: str = Field(examples=["up"])
    postgres_version: str | None = None
    pgvector_version: str | None = None
    schema_revision: str | None = None
    detail: str | None = None
