"""Cursor pagination: the cursor is an opaque token holding the last item's sort key."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Generic, TypeVar, overload

from fastapi import HTTPException, Query, status
from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null on the last page")


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


@overload
def decode_cursor(cursor: str) -> list[Any]: ...
@overload
def decode_cursor(cursor: None) -> None: ...
@overload
def decode_cursor(cursor: str | None) -> list[Any] | None: ...


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or not key:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}])
    return key


def owner_tag(subject: str) -> str:
    """What a cursor carries of the caller it was issued to: another caller's cursor is refused,
    not served, and the cursor does not show whose it is."""
    return hashlib.sha256(subject.encode()).hexdigest()[:12]


INVALID_CURSOR = "invalid cursor / 无效的分页游标"


def issue_scoped_cursor(subject: str, view: str, *position: Any) -> str:
    """A cursor for one caller and one view of a list (its side, filters, words): who it was issued
    to, which view, and where the next page starts."""
    return encode_cursor([owner_tag(subject), view, *position])


def read_scoped_cursor(key: list[Any], *, subject: str, view: str, size: int,
                       view_name: tuple[str, str] = ("view of this list (its filters)", "列表的其他视图")
                       ) -> list[Any] | str:
    """The ``size`` values of a scoped cursor's position (the caller checks them), or why the cursor
    is refused: of another shape, another caller's, or another view's (``view_name`` in en and zh)."""
    if len(key) != 2 + size or not all(isinstance(k, str) for k in key[:2]):
        return INVALID_CURSOR
    if key[0] != owner_tag(subject):
        return "this cursor belongs to another participant / 该分页游标属于其他参与者"
    if key[1] != view:
        return f"this cursor belongs to another {view_name[0]} / 该游标属于{view_name[1]}"
    return key[2:]


def is_position(value: object, bound: int) -> bool:
    """A cursor's number: an int (not a bool) in [0, bound)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


async def page_params(
    cursor: str | None = Query(None, max_length=500, description="Cursor from the previous page"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)
