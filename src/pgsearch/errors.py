"""The one error hierarchy: raised where a problem is found, rendered in one place.

Each error knows its HTTP status and headers; `api/errors.py` renders any `PgsearchError` as
`{"detail": message}` with them, and the CLI catches `PgsearchError` once and prints the message.
"""

from __future__ import annotations

from collections.abc import Mapping

# Seconds a client is asked to wait before retrying a 503.
RETRY_AFTER_S = 2


class PgsearchError(Exception):
    """Base class of errors whose message is meant for the client or the person at the CLI."""

    status_code = 400
    headers: Mapping[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PgsearchError):
    """A resource does not exist (or belongs to someone else)."""

    status_code = 404


class UserNotFound(NotFound):
    """No user with this id."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} not found")


class DocumentNotFound(NotFound):
    """No document with this id among the user's."""

    def __init__(self, document_id: int) -> None:
        super().__init__(f"document {document_id} not found")


class InvalidInput(PgsearchError):
    """Well-formed request that cannot be served as asked."""

    status_code = 422


class Unauthorized(PgsearchError):
    """No credentials, or credentials that match no key."""

    status_code = 401
    headers = {"WWW-Authenticate": 'Bearer realm="pgsearch"'}


class Forbidden(PgsearchError):
    """Valid credentials that may not do this."""

    status_code = 403


class Conflict(PgsearchError):
    """The request cannot be served in the service's current state or configuration."""

    status_code = 409


class ModelMismatch(Conflict):
    """The configured embedding model is not the one the stored vectors were made with."""


class Unavailable(PgsearchError):
    """The database cannot serve now (down, starting, or every connection busy)."""

    status_code = 503
    headers = {"Retry-After": str(RETRY_AFTER_S)}


class DatabaseInitError(Unavailable):
    """`init_database()` failed; the message says at which step and why."""


class EmbeddedPostgresError(Unavailable):
    """The embedded server could not be prepared, started or stopped."""

    def __init__(self, message: str) -> None:
        super().__init__(f"embedded PostgreSQL: {message}")


class NativeBuildError(PgsearchError):
    """pgsearch's C extension could not be built or installed (pgsearch.native)."""

    status_code = 500
