"""Two (or more) processes of one HTTP service on one database, one topic prefix and one broker,
as a deployment with replicas runs them: each ``python -m services.<name>`` on its own free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import database_name
from tests.infrastructure import Endpoints
from tests.reliability.conftest import ServiceProcess, fast_settings


@dataclass
class Replicas:
    processes: list[ServiceProcess]

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def url(self, n: int) -> str:
        """The replica that serves the ``n``-th request: requests alternate between them."""
        return self.urls[n % len(self.urls)]


def replica_environment(name: str, namespace: str, infra: Endpoints, **extra: str) -> dict[str, str]:
    return {"HARDTECH_TOPIC_PREFIX": namespace, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "MONGODB_URI": infra.mongodb_uri, **fast_settings(namespace),
            f"{name.upper()}_DATABASE": database_name(namespace, name), **extra}


@asynccontextmanager
async def replicas(name: str, namespace: str, infra: Endpoints, *, count: int = 2,
                   **extra: str) -> AsyncIterator[Replicas]:
    """``count`` processes of service ``name``, all ready; stopped afterwards."""
    env = replica_environment(name, namespace, infra, **extra)
    processes = [ServiceProcess(name, namespace, env, instance=f"-r{n}") for n in range(count)]
    try:
        for process in processes:
            process.launch()
        for process in processes:
            await asyncio.to_thread(process.wait_ready)
        yield Replicas(processes)
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)


async def all_pages(client: httpx.AsyncClient, url: str, *, headers: dict[str, str],
                    params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every item of a paged list (``items`` and ``next_cursor``)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(url, headers=headers,
                                    params={**(params or {}), "limit": 100, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:300]}"
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items
