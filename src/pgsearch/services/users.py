"""User CRUD."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from pgsearch.errors import UserNotFound
from pgsearch.models import User
from pgsearch.schemas import UserCreate, UserUpdate
from pgsearch.services import user_facts


def list_users(
    session: Session, *, limit: int = 100, offset: int = 0
) -> Sequence[Row[int, str, str | None]]:
    """Users ordered by id, one page, as (id, name, language) rows.

    Rows, not ORM objects: nothing here is modified, and a page of users costs about half the
    CPU without the identity map and instance state.
    """
    stmt = select(User.id, User.name, User.language).order_by(User.id).limit(limit).offset(offset)
    return session.execute(stmt).all()


def get_user(session: Session, user_id: int) -> User:
    """One user, or `UserNotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def create_user(session: Session, *, data: UserCreate) -> User:
    """Insert a user."""
    user = User(name=data.name, language=data.language)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user_id: int, *, data: UserUpdate) -> User:
    """Change the fields given in `data`."""
    user_facts.forget(user_id)
    user = get_user(session, user_id)
    if data.name is not None:
        user.name = data.name
    if "language" in data.model_fields_set:
        user.language = data.language
    session.flush()
    return user


def delete_user(session: Session, user_id: int) -> None:
    """Delete a user (their documents go with them)."""
    user_facts.forget(user_id)
    session.delete(get_user(session, user_id))
    session.flush()
