"""What a search needs to know of its user, remembered per process for a while.

Each fact costs a statement, which a search then skips for _TTL_S: whether the user has enough
chunks for the HNSW path (search/query.approximate_pays), how many documents they hold in
each language (which analyzers read their queries: analysis/query.py), and whether the
database has pgsearch's C extension (pgsearch.native). A stale fact costs
speed or a little keyword precision, never results; this process's own writes drop the user's
facts (`forget`), another process's are seen within _TTL_S.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    column,
    exists,
    func,
    literal,
    select,
    table,
    true,
)

from pgsearch.models import Document, User
from pgsearch.native import EXTENSION
from pgsearch.native import VERSION as NATIVE_VERSION
from pgsearch.search import query as q

T = TypeVar("T")
# A statement and its values, yielded by a search's steps (services/search.py).
Step = tuple[Select[*tuple[Any, ...]], dict[str, Any]]

_TTL_S = 30.0
_MAX_USERS = 10_000


class _Remembered(Generic[T]):
    def __init__(self) -> None:
        self._known: dict[int, tuple[T, float]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: int) -> T | None:
        with self._lock:
            known = self._known.get(user_id)
        if known is None or time.monotonic() - known[1] >= _TTL_S:
            return None
        return known[0]

    def put(self, user_id: int, value: T) -> None:
        with self._lock:
            if len(self._known) >= _MAX_USERS:
                self._known.clear()
            self._known[user_id] = (value, time.monotonic())

    def forget(self, user_id: int | None) -> None:
        with self._lock:
            if user_id is None:
                self._known.clear()
            else:
                self._known.pop(user_id, None)


@dataclass(frozen=True)
class Languages:
    """The user's own language (None: detected per document) and documents per language."""

    user_language: str | None
    documents: Mapping[str, int]


_large: _Remembered[bool] = _Remembered()
_native: _Remembered[bool] = _Remembered()  # one database: key 0
_languages: _Remembered[Languages] = _Remembered()

_USER_ID = bindparam("user_id", type_=Integer)
# Counted from ix_documents_user_id_language alone (no table row is read), in its order (no
# hashing), before the join to the user: 20,000 documents in ~2 ms, where joining first and
# counting documents.id took ~7 (README, Many users).
_PER_LANGUAGE = (
    select(Document.language, func.count().label("documents"))
    .where(Document.user_id == User.id)
    .group_by(Document.language)
    .lateral("per_language")
)
_LANGUAGES = (
    select(User.language, _PER_LANGUAGE.c.language, _PER_LANGUAGE.c.documents)
    .select_from(User)
    .outerjoin(_PER_LANGUAGE, true())
    .where(User.id == _USER_ID)
)


# Created in this database, still in the server's folders, and of the version they define, which
# is the one whose functions these statements call: a database keeps its extension when the
# server loses the files (the embedded server re-installed where nothing could build them), or
# before init-db updates it to a newer pgsearch's version, and a server keeps the files an older
# pgsearch built until `build-extension` runs again; calling it then fails.
_available = table(
    "pg_available_extensions",
    column("name"),
    column("installed_version"),
    column("default_version"),
)
NATIVE = select(
    exists().where(
        _available.c.name == literal(EXTENSION),
        _available.c.installed_version == _available.c.default_version,
        _available.c.installed_version == literal(NATIVE_VERSION),
    )
)


def native() -> Generator[Step, Sequence[Any], bool]:
    """Whether the database has pgsearch_bm25 (search steps: yields a statement)."""
    known = _native.get(0)
    if known is not None:
        return known
    rows = yield NATIVE, {}
    found = bool(rows[0][0])
    _native.put(0, found)
    return found


def is_large(user_id: int) -> Generator[Step, Sequence[Any], bool]:
    """Whether the user has enough chunks for the HNSW path (search steps: yields a statement)."""
    known = _large.get(user_id)
    if known is not None:
        return known
    rows = yield q.approximate_pays(), {"user_id": user_id}
    large = bool(rows[0][0])
    _large.put(user_id, large)
    return large


def languages(user_id: int) -> Generator[Step, Sequence[Any], Languages]:
    """The user's language and documents per language (an unknown user: none)."""
    known = _languages.get(user_id)
    if known is not None:
        return known
    rows = yield _LANGUAGES, {"user_id": user_id}
    found = Languages(
        user_language=rows[0][0] if rows else None,
        documents={r[1]: r[2] for r in rows if r[1] is not None},
    )
    _languages.put(user_id, found)
    return found


def forget(user_id: int | None = None) -> None:
    """Drop what is remembered of a user (None: of every user), after writes or in tests."""
    _large.forget(user_id)
    _languages.forget(user_id)
    if user_id is None:
        _native.forget(None)
