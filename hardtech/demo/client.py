"""The demo's HTTP client: the services' APIs as a participant, an organiser or an operator uses
them, with idempotency keys (a re-run never duplicates) and patience for rate limits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from hardtech.errors import SetupError


TRANSPORT_RETRIES = 3  # a lost or timed-out connection, for a request that may be repeated


class ApiError(SetupError):
    pass


class Api:
    def __init__(self, base_url: str, *, concurrency: int = 16):
        self._client = httpx.AsyncClient(base_url=base_url, timeout=30)
        self._gate = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                   params: dict[str, Any] | None = None, idempotency_key: str | None = None,
                   accept: tuple[int, ...] = ()) -> httpx.Response:
        """One request; 429 and 503 are waited out, and so is a lost or timed-out connection when the request
        may be repeated (a GET, or a write with an idempotency key); anything else unexpected is an ApiError."""
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(30):
            async with self._gate:
                try:
                    response = await self._client.request(method, path, json=json, params=params, headers=headers)
                except httpx.TransportError as exc:
                    if attempt < TRANSPORT_RETRIES and (method == "GET" or idempotency_key):
                        await asyncio.sleep(1 + attempt)
                        continue
                    raise ApiError(f"{method} {self._client.base_url}{path}: {type(exc).__name__} {exc}".rstrip()) \
                        from None
            if response.status_code in (429, 503):
                await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 10) + 0.1 * attempt)
                continue
            if response.is_success or response.status_code in accept:
                return response
            raise ApiError(f"{method} {self._client.base_url}{path} answered {response.status_code}: "
                           f"{response.text[:300]}")
        raise ApiError(f"{method} {self._client.base_url}{path} kept answering {response.status_code}")

    async def json(self, method: str, path: str, **options: Any) -> Any:
        return (await self.call(method, path, **options)).json()

    async def pages(self, path: str, *, token: str, params: dict[str, Any] | None = None,
                    limit: int = 100, most: int = 10_000) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated list (up to ``most``)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while len(items) < most:
            query = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = await self.json("GET", path, token=token, params=query)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items
