"""`/users`: the textbook list, plus create, read, update and delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import Row

from pgsearch.api.deps import AdminDep, OwnUserId, SessionDep
from pgsearch.schemas import UserCreate, UserRead, UserUpdate
from pgsearch.services import users

router = APIRouter(prefix="/users", tags=["users"])

# ids are PostgreSQL `integer`: bound them so a huge id is a 422, not a database error.
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id")]


@router.get("", response_model=list[UserRead], dependencies=[AdminDep])
def list_users(
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Sequence[Row[int, str]]:
    """Users ordered by id."""
    # (id, name) rows: response_model validates them once, straight into the JSON response.
    return users.list_users(db, limit=limit, offset=offset)


@router.post(
    "", response_model=UserRead, status_code=status.HTTP_201_CREATED, dependencies=[AdminDep]
)
def create_user(db: SessionDep, body: UserCreate) -> UserRead:
    """Create a user."""
    return UserRead.model_validate(users.create_user(db, data=body))


@router.get("/{user_id}", response_model=UserRead)
def get_user(db: SessionDep, user_id: OwnUserId) -> UserRead:
    """One user."""
    return UserRead.model_validate(users.get_user(db, user_id))


@router.patch("/{user_id}", response_model=UserRead, dependencies=[AdminDep])
def update_user(db: SessionDep, user_id: UserId, body: UserUpdate) -> UserRead:
    """Rename a user."""
    return UserRead.model_validate(users.update_user(db, user_id, data=body))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminDep])
def delete_user(db: SessionDep, user_id: UserId) -> Response:
    """Delete a user and everything they own."""
    users.delete_user(db, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
