"""E-mail through a real SMTP server, digests, operators' alerts and the live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from email.header import decode_header, make_header

import httpx
import pytest

from services.notification.app import create_app
from tests.integration.notification.conftest import auth, enable_webhook, inbox_of, publish, serving
from tests.support import running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


async def test_email_arrives_at_the_smtp_server_in_the_recipients_language(notification_settings, producer, smtp):
    settings = notification_settings(smtp_host=smtp.host, smtp_port=smtp.port)
    async with running(create_app(settings)) as client:
        await publish(producer, settings, samples.participant("p_ent", email="zhang@example.cn"))
        await wait_for(lambda: _has_profile_email(client, settings), what="the profile")
        await publish(producer, settings, samples.match_created("p_uni", "p_ent"))
        await wait_for(lambda: asyncio.sleep(0, result=smtp.mailbox.messages), what="the e-mail")
        [message] = smtp.mailbox.messages  # p_uni has no address: no e-mail
        assert message["To"] == "zhang@example.cn"
        assert _subject(message).startswith("新的技术匹配")
        assert "推荐理由" in message.get_payload(decode=True).decode()
        assert message["Message-ID"].startswith("<msg_")


async def _has_profile_email(client, settings):
    response = await client.put("/me/preferences", json={"channels": {"email": {"enabled": True}}},
                                headers=auth(settings, "p_ent"))
    return response.status_code == 200


async def test_digest_sends_one_message_per_window(notification_settings, producer, receiver, smtp):
    settings = notification_settings(digest_window_seconds=3, digest_grace_seconds=0.5,
                                     smtp_host=smtp.host, smtp_port=smtp.port)
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_ent", delivery="digest", language="en")
        await publish(producer, settings, *[samples.match_created("p_uni", "p_ent", match_id=f"m_{n}")
                                            for n in range(3)])
        await wait_for(lambda: _inbox_count(client, settings, 3), what="three entries in the inbox")
        await wait_for(lambda: asyncio.sleep(0, result=receiver.of("p_ent")), timeout=15, what="the digest")
        await asyncio.sleep(1)
        digests = receiver.of("p_ent")
        matches = sum(len(json.loads(d.body)["data"]["details"]["items"]) for d in digests)
        assert matches == 3 and len(digests) <= 2, "one webhook per window, holding every match of it"
        body = json.loads(digests[0].body)
        assert body["type"] == "digest" and body["data"]["subject"].startswith("Digest:") and digests[0].verified


async def _inbox_count(client, settings, count):
    return len(await inbox_of(client, settings, "p_ent")) >= count


async def test_alerts_go_to_the_operators_email_and_webhook(notification_settings, producer, receiver, smtp):
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver.secrets["ops"] = secret
    settings = notification_settings(smtp_host=smtp.host, smtp_port=smtp.port, operator_email="ops@hardtech.cn",
                                     operator_webhook_url=receiver.url("ops"), operator_webhook_secret=secret)
    async with running(create_app(settings)):
        await publish(producer, settings, samples.alert())
        await wait_for(lambda: asyncio.sleep(0, result=smtp.mailbox.messages and receiver.of("ops")),
                       what="the alert by e-mail and webhook")
        assert smtp.mailbox.messages[0]["To"] == "ops@hardtech.cn"
        assert "consumer_lag" in _subject(smtp.mailbox.messages[0])
        assert receiver.of("ops")[0].verified
        assert json.loads(receiver.of("ops")[0].body)["type"] == "alert.raised"


async def _read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
    """Parse ``count`` Server-Sent Events from a streaming response."""
    events, current = [], {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
            continue
        field, _, value = line.partition(":")
        current[field] = value.lstrip(" ")
    return events


async def test_stream_replays_what_a_reconnecting_client_missed_and_nothing_twice(notification_settings, producer):
    settings = notification_settings()
    app = create_app(settings)
    async with serving(app, lifespan="on") as base_url, httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        headers = auth(settings, "p_uni")
        assert (await client.get("/stream", headers={**headers, "Last-Event-ID": "x"})).status_code == 422
        assert (await client.get("/stream")).status_code == 401
        async with client.stream("GET", "/stream", headers=headers) as live:
            assert live.headers["content-type"].startswith("text/event-stream")
            await publish(producer, settings, samples.match_created(match_id="m_1"))
            [first] = await asyncio.wait_for(_read_events(live, 1), 20)
        assert first["event"] == "match.created" and json.loads(first["data"])["data"]["match_id"] == "m_1"

        # While the client is away, two more arrive; reconnecting from the last id gets exactly those.
        await publish(producer, settings, samples.match_created(match_id="m_2"), samples.consortium())
        await wait_for(lambda: _has_three(client, settings), what="three inbox entries")
        async with client.stream("GET", "/stream", headers={**headers, "Last-Event-ID": first["id"]}) as again:
            missed = await asyncio.wait_for(_read_events(again, 2), 20)
        assert sorted(e["event"] for e in missed) == ["consortium.proposed", "match.created"]
        assert first["id"] not in [e["id"] for e in missed]
        assert len({e["id"] for e in missed}) == 2 and all(int(e["id"]) > int(first["id"]) for e in missed)


async def _has_three(client, settings):
    return len(await inbox_of(client, settings, "p_uni")) == 3
