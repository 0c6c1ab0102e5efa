"""`/users/{user_id}/keys`: API keys (issued by the admin; listed and revoked by the owner too)."""

from __future__ import annotations

from fastapi import APIRouter, status

from pgsearch.api.deps import (
    AdminDep,
    KeyIdPath,
    OwnUserId,
    ReadOwnUserId,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    UserIdPath,
)
from pgsearch.errors import Conflict
from pgsearch.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from pgsearch.services import keys

router = APIRouter(prefix="/users/{user_id}/keys", tags=["keys"])


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminDep],
)
def create_key(
    db: SessionDep, settings: SettingsDep, user_id: UserIdPath, body: ApiKeyCreate | None = None
) -> ApiKeyCreated:
    """Issue a key for the user. The key is in this response only; store it now."""
    if settings.admin_key is None:
        # Anyone may call this with auth off; the key would start to work once auth is on.
        raise Conflict(
            "API keys need authentication on: set PGSEARCH_ADMIN_KEY (16+ characters), "
            "restart, and issue keys with the admin key"
        )
    issued = keys.issue_key(db, user_id, name=body.name if body else None)
    return ApiKeyCreated(**ApiKeyRead.model_validate(issued.key).model_dump(), key=issued.secret)


@router.get("", response_model=list[ApiKeyRead])
def list_keys(db: ReadSessionDep, user_id: ReadOwnUserId) -> list[ApiKeyRead]:
    """The user's keys, identified by prefix (secrets are never shown again)."""
    return [ApiKeyRead.model_validate(k) for k in keys.list_keys(db, user_id)]


@router.delete(
    "/{key_id:int}",
    response_model=ApiKeyRead,
)
def revoke_key(db: SessionDep, user_id: OwnUserId, key_id: KeyIdPath) -> ApiKeyRead:
    """Revoke a key: it stops working at once."""
    return ApiKeyRead.model_validate(keys.revoke_key(db, user_id, key_id))
