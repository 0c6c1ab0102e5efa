"""`/me`: who the request's key belongs to (the search page asks before it shows anything)."""

from __future__ import annotations

from fastapi import APIRouter

from pgsearch.api.deps import ReadPrincipalDep, SettingsDep
from pgsearch.schemas import Me

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=Me)
async def me(principal: ReadPrincipalDep, settings: SettingsDep) -> Me:
    """The admin, or the user whose key this is; 401 for a missing or wrong key (auth on)."""
    return Me(auth=settings.admin_key is not None, admin=principal.admin, user_id=principal.user_id)
