"""`/users`: the textbook list, plus create, read, update and delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Row

from pgsearch.api.deps import (
    AdminDep,
    ReadAdminDep,
    ReadOwnUserId,
    ReadSessionDep,
    SessionDep,
    UserIdPath,
)
from pgsearch.schemas import INT4_MAX, UserCreate, UserRead, UserUpdate
from pgsearch.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserRead], dependencies=[ReadAdminDep])
def list_users(
    db: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT4_MAX)] = 0,
) -> Sequence[Row[int, str, str | None]]:
    """Users ordered by id."""
    # (id, name, language) rows: response_model validates them once, straight into the JSON.
    return users.list_users(db, limit=limit, offset=offset)


@router.post(
    "", response_model=UserRead, status_code=status.HTTP_201_CREATED, dependencies=[AdminDep]
)
def create_user(db: SessionDep, body: UserCreate) -> UserRead:
    """Create a user."""
    return UserRead.model_validate(users.create_user(db, data=body))


@router.get("/{user_id}", response_model=UserRead)
def get_user(db: ReadSessionDep, user_id: ReadOwnUserId) -> UserRead:
    """One user."""
    return UserRead.model_validate(users.get_user(db, user_id))


@router.patch("/{user_id}", response_model=UserRead, dependencies=[AdminDep])
def update_user(db: SessionDep, user_id: UserIdPath, body: UserUpdate) -> UserRead:
    """Rename a user."""
    return UserRead.model_validate(users.update_user(db, user_id, data=body))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminDep])
def delete_user(db: SessionDep, user_id: UserIdPath) -> Response:
    """Delete a user and everything they own."""
    users.delete_user(db, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
