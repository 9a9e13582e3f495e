"""Kill -9 the service mid-delivery and start it again: every notification arrives at least
once and the inbox holds no duplicates."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from services.notification.domain.notices import Channel, notification_id
from tests.integration.notification.conftest import auth, publish
from tests.support import free_port
from tests.support import wait_for
from tests.unit.notification import samples

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[3]


def _start(settings, port: int) -> subprocess.Popen:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "MONGODB_URI": settings.mongodb_uri, "HARDTECH_TOPIC_PREFIX": settings.topic_prefix,
           "NOTIFICATION_PORT": str(port), "NOTIFICATION_DATABASE": settings.database,
           "NOTIFICATION_ALLOW_PRIVATE_WEBHOOKS": "true", "NOTIFICATION_DELIVERY_CONCURRENCY": "3",
           "NOTIFICATION_DELIVERY_LEASE_SECONDS": "3", "NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS": "2",
           "NOTIFICATION_DELIVERY_POLL_SECONDS": "0.2", "NOTIFICATION_WEBHOOK_BACKOFF_BASE_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "services.notification"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_every_notification_arrives_after_a_kill_and_the_inbox_has_no_duplicates(
        notification_settings, producer, receiver):
    settings = notification_settings()
    port = free_port()
    events = [samples.match_created("p_uni", "p_ent", match_id=f"m_{n}") for n in range(24)]
    expected = {notification_id(e.id, "p_ent", Channel.WEBHOOK) for e in events}
    process = _start(settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await wait_for(lambda: _healthy(client), timeout=30, what="the service to start")
            body = {"channels": {"webhook": {"enabled": True, "url": receiver.url("p_ent")}}}
            response = await client.put("/me/preferences", json=body, headers=auth(settings, "p_ent"))
            receiver.secrets["p_ent"] = response.json()["webhook_secret"]
            receiver.script["p_ent"] = [1.5] * 3 + [(200, {})] * 40  # the first three stall past the kill
            await publish(producer, settings, *events)
            await wait_for(lambda: asyncio.sleep(0, result=len(receiver.of("p_ent")) >= 3), timeout=30,
                           what="deliveries in flight")
            process.send_signal(signal.SIGKILL)
            process.wait(10)

            process = _start(settings, port)
            await wait_for(lambda: _healthy(client), timeout=30, what="the service to restart")
            received = lambda: {r.id for r in receiver.of("p_ent") if r.answered == 200}  # noqa: E731
            await wait_for(lambda: asyncio.sleep(0, result=received() >= expected), timeout=60,
                           what="every webhook at least once")
            assert all(r.verified for r in receiver.of("p_ent"))
            for participant in ("p_uni", "p_ent"):
                # The inbox is written beside the deliveries, under the recipients' inbox locks: a lock
                # the killed process held is free again when its lease expires (shared/locks.py).
                async def inbox(participant: str = participant) -> list[dict] | None:
                    response = await client.get("/inbox", params={"limit": 100}, headers=auth(settings, participant))
                    entries = response.json()["items"]
                    return entries if len(entries) >= len(events) else None

                entries = await wait_for(inbox, timeout=30, what=f"{participant}'s inbox")
                assert len(entries) == len(events), participant
                assert not [k for k, n in Counter(e["data"]["match_id"] for e in entries).items() if n > 1]
                assert len({e["seq"] for e in entries}) == len(events)
    finally:
        process.kill()
        process.wait(10)
