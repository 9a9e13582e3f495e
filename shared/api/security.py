"""FastAPI dependencies for identity: 401 when the credential is missing or bad, 403 when a
valid credential lacks the right; the body's ``detail`` says which."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import AuthError, Principal, verify

_bearer = HTTPBearer(auto_error=False,
                     description="A participant's token from POST /auth/token, or the operator's token")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise _unauthorized("missing bearer token")
    try:
        return verify(request.app.state.settings, credentials.credentials)
    except AuthError as exc:
        raise _unauthorized(exc.reason) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_operator:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="operator token required (需要运维令牌)")
    return principal


async def organiser(principal: CurrentPrincipal) -> Principal:
    if not principal.is_organiser:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="organiser role required (granted by an operator to verified government or agency "
                                   "participants; 需要经运维核验授予的组织方角色)")
    return principal


async def participant(principal: CurrentPrincipal) -> Principal:
    if principal.participant_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a participant's token is required")
    return principal


Operator = Annotated[Principal, Depends(operator)]
Organiser = Annotated[Principal, Depends(organiser)]
Participant = Annotated[Principal, Depends(participant)]
