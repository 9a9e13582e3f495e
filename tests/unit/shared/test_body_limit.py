"""The body size limit of every service's app: 413 whether the length is declared or the body
comes in chunks, before the route sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter

from shared.api.app import create_service_app
from shared.settings import ServiceSettings

LIMIT = 1000


def _client() -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    app = create_service_app(ServiceSettings(max_body_bytes=LIMIT), title="t", description="d", routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _body(size: int) -> bytes:
    return b'{"x": "' + b"a" * (size - 9) + b'"}'


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 300):
        yield body[start:start + 300]


async def test_a_chunked_body_over_the_limit_is_413():
    async with _client() as client:
        response = await client.post("/echo", content=_chunks(_body(LIMIT + 1)),
                                     headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body larger than {LIMIT} bytes"}


async def test_a_declared_body_over_the_limit_is_413_and_one_at_the_limit_is_served():
    async with _client() as client:
        response = await client.post("/echo", content=_body(LIMIT + 1), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body larger than {LIMIT} bytes"}
        at_limit = await client.post("/echo", content=_body(LIMIT), headers={"content-type": "application/json"})
        assert at_limit.status_code == 200 and len(at_limit.json()["x"]) == LIMIT - 9
        chunked = await client.post("/echo", content=_chunks(_body(LIMIT)), headers={"content-type": "application/json"})
        assert chunked.status_code == 200
