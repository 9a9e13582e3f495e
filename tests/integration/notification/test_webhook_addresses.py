"""Where a webhook goes: the address checked is the address connected to (no second DNS
resolution for a rebinding name to answer differently), a DNS failure is retried like any
failed attempt, and a URL that may never be called is refused without a connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notification.app import create_app
from services.notification.channels import RefusedUrl, WebhookSender
from tests.integration.notification.conftest import auth, operator, publish
from tests.support import running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


@contextmanager
def resolver(host: str, answers: list[str | None]) -> Iterator[list[str]]:
    """Resolve ``host`` with the next of ``answers`` (None: a DNS failure; the last one repeats),
    every other name as usual; yields the list of answers given."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    given: list[str] = []

    async def getaddrinfo(name: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if name != host:
            return await real(name, port, *args, **kwargs)
        answer = answers[min(len(given), len(answers) - 1)]
        given.append(answer or "failure")
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]

    loop.getaddrinfo = getaddrinfo  # type: ignore[method-assign]
    try:
        yield given
    finally:
        del loop.getaddrinfo


async def test_the_connection_goes_to_the_checked_address_never_to_a_second_resolution(
        notification_settings, receiver):
    settings = notification_settings()
    sender = WebhookSender(settings)
    receiver.secrets["p_ent"] = "whsec_" + "A" * 43 + "="
    port = int(receiver.base_url.rsplit(":", 1)[1])
    # a rebinding name: the check sees the receiver, a second look-up would see another host
    with resolver("rebinding.test", ["127.0.0.1", "192.0.2.1"]) as given:
        result = await sender.send(f"http://rebinding.test:{port}/hooks/p_ent", [receiver.secrets["p_ent"]],
                                   "msg_pinned", '{"type":"t"}', datetime.now(UTC))
    await sender.close()
    assert (result.status_code, result.error) == (200, None)
    assert given == ["127.0.0.1"]
    [received] = receiver.of("p_ent")
    assert received.headers["host"] == f"rebinding.test:{port}" and received.verified


@pytest.mark.parametrize("url", ["http://[::ffff:127.0.0.1]/h", "http://[64:ff9b::7f00:1]/h", "http://[2002:7f00:1::]/h",
                                 "http://2130706433/h", "http://0177.0.0.1/h", "http://0x7f.1/h", "http://127.1/h",
                                 "http://[::127.0.0.1]/h", "ftp://example.com/h"])
async def test_every_form_of_an_internal_address_is_refused_before_connecting(notification_settings, url):
    sender = WebhookSender(notification_settings(allow_private_webhooks=False))
    with pytest.raises(RefusedUrl):
        await sender.send(url, ["whsec_" + "A" * 43 + "="], "msg_refused", "{}", datetime.now(UTC))
    await sender.close()


async def test_a_dns_failure_is_retried_not_dead_lettered(notification_settings, producer, receiver):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        port = int(receiver.base_url.rsplit(":", 1)[1])
        # the address check when the URL is saved resolves it; the next two look-ups fail
        with resolver("flaky-dns.test", ["127.0.0.1", None, None, "127.0.0.1"]):
            body = {"channels": {"webhook": {"enabled": True, "url": f"http://flaky-dns.test:{port}/hooks/p_ent"},
                                 "email": {"enabled": False}}}
            saved = await client.put("/me/preferences", json=body, headers=auth(settings, "p_ent"))
            assert saved.status_code == 200, saved.text
            receiver.secrets["p_ent"] = saved.json()["webhook_secret"]
            await publish(producer, settings, samples.match_created("p_uni", "p_ent"))
            await wait_for(lambda: asyncio.sleep(0, result=any(r.answered == 200 for r in receiver.of("p_ent"))),
                           timeout=30, what="the webhook after two DNS failures")
        message_id = receiver.of("p_ent")[0].id

        async def delivery_log():
            return (await client.get(f"/operator/deliveries/{message_id}", headers=operator(settings))).json()

        # the attempt is recorded once the receiver has answered it
        await wait_for(lambda: _status_is(delivery_log, "delivered"), what="the delivery recorded")
        log = await delivery_log()
        assert [a["error"] for a in log["attempts"]] == ["dns_failure", "dns_failure", None]
        assert log["status"] == "delivered"


async def _status_is(read, status):
    return (await read())["status"] == status


async def test_a_url_refused_when_saved_names_the_reason(notification_settings):
    settings = notification_settings(allow_private_webhooks=False)
    async with running(create_app(settings)) as client:
        body = {"channels": {"webhook": {"enabled": True, "url": "http://[64:ff9b::a00:1]/hooks"}}}
        refused = await client.put("/me/preferences", json=body, headers=auth(settings, "p_ent"))
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "channels", "webhook", "url"]
        assert "10.0.0.1" in refused.json()["detail"][0]["msg"]
