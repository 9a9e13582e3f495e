"""The demo's client waits out a lost or timed-out connection only for requests that may be repeated,
and names what went wrong when it gives up."""

from __future__ import annotations

import httpx
import pytest

from hardtech.demo import client as demo_client
from hardtech.demo.client import Api, ApiError


def api_failing(times: int) -> tuple[Api, list[str]]:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Idempotency-Key", "-"))
        if len(calls) <= times:
            raise httpx.ReadTimeout("", request=request)
        return httpx.Response(201, json={"id": "l_1"})

    api = Api("http://listing")
    api._client = httpx.AsyncClient(base_url="http://listing", transport=httpx.MockTransport(answer))
    return api, calls


async def test_an_idempotent_write_is_repeated_after_a_timeout(monkeypatch):
    monkeypatch.setattr(demo_client.asyncio, "sleep", _no_wait)
    api, calls = api_failing(times=2)
    assert await api.json("POST", "/demands", json={}, idempotency_key="k1") == {"id": "l_1"}
    assert calls == ["k1", "k1", "k1"]


async def test_a_write_without_a_key_is_not_repeated_and_the_error_names_the_timeout(monkeypatch):
    monkeypatch.setattr(demo_client.asyncio, "sleep", _no_wait)
    api, calls = api_failing(times=1)
    with pytest.raises(ApiError, match=r"^POST http://listing/demands: ReadTimeout$"):
        await api.call("POST", "/demands", json={})
    assert calls == ["-"]


async def test_it_gives_up_after_a_few_timeouts(monkeypatch):
    monkeypatch.setattr(demo_client.asyncio, "sleep", _no_wait)
    api, calls = api_failing(times=10)
    with pytest.raises(ApiError, match="ReadTimeout"):
        await api.call("GET", "/demands")
    assert len(calls) == demo_client.TRANSPORT_RETRIES + 1


async def _no_wait(_: float) -> None:
    return None
