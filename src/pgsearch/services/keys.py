"""API keys: issue (the secret is shown once), verify, list and revoke."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from pgsearch.db import AsyncConn, fetch_all
from pgsearch.errors import NotFound
from pgsearch.models import ApiKey
from pgsearch.services.users import get_user

KEY_PREFIX = "pgs_"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is returned to the client once and never stored."""

    key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """SHA-256 of a key: keys are 256-bit random, so a slow password hash adds nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, user_id: int, *, name: str | None = None) -> IssuedKey:
    """Create a key for a user."""
    get_user(session, user_id)
    prefix = secrets.token_hex(6)  # 12 hex chars: shown in listings, indexed for lookup
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(user_id=user_id, prefix=prefix, key_hash=hash_secret(secret), name=name)
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret)


def _prefix(secret: str) -> str | None:
    if not secret.startswith(KEY_PREFIX) or secret.count("_") < 2:
        return None
    return secret[len(KEY_PREFIX) :].split("_", 1)[0]


def _matches(key_hash: str, secret: str) -> bool:
    return hmac.compare_digest(key_hash, hash_secret(secret))


def verify_key(session: Session, secret: str) -> ApiKey | None:
    """The live key matching `secret`, or None."""
    prefix = _prefix(secret)
    if prefix is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if key is None or not _matches(key.key_hash, secret):
        return None
    return key


_LIVE_KEY = select(ApiKey.user_id, ApiKey.key_hash).where(
    ApiKey.prefix == bindparam("prefix"), ApiKey.revoked_at.is_(None)
)


async def key_user_async(conn: AsyncConn, secret: str) -> int | None:
    """`verify_key` on an async connection (the search route): the key's user id, or None."""
    prefix = _prefix(secret)
    if prefix is None:
        return None
    rows = await fetch_all(conn, _LIVE_KEY, {"prefix": prefix})
    if not rows or not _matches(rows[0].key_hash, secret):
        return None
    return int(rows[0].user_id)


def list_keys(session: Session, user_id: int) -> list[ApiKey]:
    """A user's keys (revoked ones too), oldest first."""
    get_user(session, user_id)
    return list(
        session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id))
    )


def revoke_key(session: Session, user_id: int, key_id: int) -> ApiKey:
    """Revoke a key of this user (idempotent)."""
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if key is None:
        get_user(session, user_id)
        raise NotFound(f"key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = session.scalar(select(func.now()))
        session.flush()
    return key
