"""Answering a POST once per ``Idempotency-Key`` (``shared.api.idempotency`` keeps the keys)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.api.idempotency import IdempotencyStore

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="A unique value per intended request: a retry with the same key and body returns the first "
                "response and never creates a second entity")]

Body = dict[str, Any]


def _unchanged(body: Body) -> Body:
    return body


async def _as_stored(body: Body) -> Body:
    return body


async def answer_once(request: Request, key: str | None, scope: str, status_code: int,
                      produce: Callable[[], Awaitable[BaseModel]], *,
                      to_store: Callable[[Body], Body] = _unchanged,
                      on_replay: Callable[[Body], Awaitable[Body]] = _as_stored) -> JSONResponse:
    """Run ``produce`` unless this key already answered; ``to_store`` drops what must not be kept
    (a secret shown once) and ``on_replay`` rebuilds the answer of a retry from what was kept."""
    if key is None:
        return JSONResponse((await produce()).model_dump(mode="json"), status_code)
    store: IdempotencyStore = request.app.state.idempotency
    stored = await store.begin(scope, key, await request.body())
    if stored is not None:
        stored_status, stored_body = stored
        return JSONResponse(await on_replay(stored_body), stored_status, headers={"Idempotent-Replayed": "true"})
    try:
        body = (await produce()).model_dump(mode="json")
    except BaseException:
        await store.abandon(scope, key)
        raise
    await store.finish(scope, key, status_code, to_store(body))
    return JSONResponse(body, status_code)
