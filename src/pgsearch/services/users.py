"""User CRUD."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pgsearch.errors import UserNotFound
from pgsearch.models import User
from pgsearch.schemas import UserCreate, UserUpdate


def list_users(session: Session, *, limit: int = 100, offset: int = 0) -> list[User]:
    """Users ordered by id, one page."""
    stmt = select(User).order_by(User.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def get_user(session: Session, user_id: int) -> User:
    """One user, or `UserNotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def create_user(session: Session, *, data: UserCreate) -> User:
    """Insert a user."""
    user = User(name=data.name)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user_id: int, *, data: UserUpdate) -> User:
    """Change the fields given in `data`."""
    user = get_user(session, user_id)
    if data.name is not None:
        user.name = data.name
    session.flush()
    return user


def delete_user(session: Session, user_id: int) -> None:
    """Delete a user (their documents go with them)."""
    session.delete(get_user(session, user_id))
    session.flush()
