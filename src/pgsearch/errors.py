"""Domain errors raised by services; the API turns them into HTTP responses in one place."""

from __future__ import annotations


class PgsearchError(Exception):
    """Base class of errors that carry a message meant for the client."""

    status_code = 400

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


class InvalidInput(PgsearchError):
    """Well-formed request that cannot be served as asked."""

    status_code = 422


class Unauthorized(PgsearchError):
    """No credentials, or credentials that match no key."""

    status_code = 401


class Conflict(PgsearchError):
    """The request cannot be served in the service's current state or configuration."""

    status_code = 409


class Forbidden(PgsearchError):
    """Valid credentials that may not do this."""

    status_code = 403
