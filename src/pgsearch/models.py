"""ORM models (SQLAlchemy 2 typed declarative)."""

from __future__ import annotations

from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every pgsearch table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A user: owns documents (and, with auth enabled, API keys)."""

    __tablename__ = "users"

    # Same shape as the textbook table, so a database made by its create_all is adopted as is.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
