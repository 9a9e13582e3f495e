"""The HTTP answer to a domain's refusal (``shared.domain_errors``): 422 naming every bad field,
otherwise the refusal's status with its reason."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from shared.domain_errors import Conflict, DomainError, Forbidden, Invalid, NotFound

STATUS_OF: dict[type[DomainError], int] = {NotFound: 404, Conflict: 409, Forbidden: 403}


def domain_error(_: Request, exc: DomainError) -> JSONResponse:
    if isinstance(exc, Invalid):
        detail = [{"loc": ["body", *p.loc], "msg": p.msg, "type": "value_error"} for p in exc.problems]
        return JSONResponse({"detail": detail}, status_code=422)
    return JSONResponse({"detail": exc.detail}, status_code=STATUS_OF.get(type(exc), 409))
