"""``POST /auth/token`` is rate limited per API key and per client address: over the limit it
answers 429 with ``Retry-After`` and a reason, and lets the caller in again once the window passed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from services.listing.app import create_app
from services.listing.settings import Settings
from tests.security import bodies
from tests.support import running

pytestmark = pytest.mark.integration

PER_KEY = 3
PER_ADDRESS = 6
WINDOW_SECONDS = 2.0


@pytest.fixture
async def listing(make_settings: Callable[..., Any], registry_topics) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(Settings, auth_rate_per_key=PER_KEY, auth_rate_per_ip=PER_ADDRESS,
                             auth_rate_window_seconds=WINDOW_SECONDS)
    async with running(create_app(settings)) as client:
        yield client


async def api_key(client: httpx.AsyncClient) -> str:
    response = await client.post("/participants", json=bodies.participant("enterprise"))
    assert response.status_code == 201, response.text
    return response.json()["api_key"]


async def exchange(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/auth/token", json={"api_key": key})


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW_SECONDS
    assert "too many token requests" in response.json()["detail"]


async def test_per_key_limit_answers_429_with_retry_after(listing: httpx.AsyncClient) -> None:
    key, other_key = await api_key(listing), await api_key(listing)
    assert [(await exchange(listing, key)).status_code for _ in range(PER_KEY)] == [200] * PER_KEY
    assert_limited(await exchange(listing, key))
    # Guesses at the same key (same prefix) count against it too; another participant's key does not.
    assert_limited(await exchange(listing, key[:12] + "guessed-rest-of-the-key"))
    assert (await exchange(listing, other_key)).status_code == 200

    await asyncio.sleep(WINDOW_SECONDS + 0.2)
    assert (await exchange(listing, key)).status_code == 200


async def test_per_address_limit_stops_guessing_many_keys(listing: httpx.AsyncClient) -> None:
    key = await api_key(listing)
    guesses = [(await exchange(listing, f"htx_guess{n:03d}-aaaaaaaaaaaa")).status_code for n in range(PER_ADDRESS)]
    assert guesses == [401] * PER_ADDRESS
    assert_limited(await exchange(listing, key))  # even a right key, from an address that kept guessing
