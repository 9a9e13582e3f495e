"""Fixtures of the notification service's integration tests: the service in-process against the
real broker and store, a real webhook receiver over HTTP that verifies Standard Webhooks
signatures and answers as scripted, and a real SMTP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notification.settings import Settings
from shared import topics
from shared.auth import issue_token
from shared.events import CloudEvent
from shared.kafka import Producer
from shared.party_types import PartyType
from tests.support import free_port


@asynccontextmanager
async def serving(app: Any, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve an ASGI app over real HTTP on a free port in this event loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None,
                                           access_log=False, timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Received:
    name: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float
    answered: int

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class WebhookReceiver:
    """Answers POST /hooks/{name}: verifies the signature with the receiver's secret, then plays
    the next scripted answer for ``name`` (an HTTP status with headers, or a stall), else 200."""

    base_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    script: dict[str, list[tuple[int, dict[str, str]] | float]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"

    def of(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    async def _hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        try:
            Webhook(self.secrets[name]).verify(body, dict(request.headers))
            verified = True
        except (KeyError, WebhookVerificationError):
            verified = False
        answer = self.script.get(name, []).pop(0) if self.script.get(name) else (200, {})
        if isinstance(answer, float):  # stall longer than the sender waits
            self.received.append(Received(name, dict(request.headers), body, verified, time.time(), 0))
            await asyncio.sleep(answer)
            return Response(status_code=200)
        status, headers = answer
        self.received.append(Received(name, dict(request.headers), body, verified, time.time(), status))
        return Response(status_code=status, headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/{name}", self._hook, methods=["POST"])])


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hooks = WebhookReceiver()
    async with serving(hooks.app()) as base_url:
        hooks.base_url = base_url
        yield hooks


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@dataclass
class Smtp:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp() -> Smtp:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Smtp("127.0.0.1", port, mailbox)
    controller.stop()


@pytest.fixture
def notification_settings(make_settings: Callable[..., Settings], registry_topics) -> Callable[..., Settings]:
    """Settings for the service under test: fast polls and retries, private webhooks allowed."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(allow_private_webhooks=True, webhook_timeout_seconds=1.0,
                                      webhook_backoff_base_seconds=0.2, webhook_backoff_max_seconds=1.0,
                                      webhook_max_attempts=4, delivery_poll_seconds=0.1, delivery_lease_seconds=3,
                                      stream_poll_seconds=0.5)
        values.update(overrides)
        return make_settings(Settings, **values)

    return build


@pytest.fixture
async def producer(registry_topics) -> AsyncIterator[Producer]:
    producer = Producer(registry_topics, client_id="notification-tests")
    yield producer
    await producer.stop()


async def publish(producer: Producer, settings: Settings, *events: CloudEvent) -> None:
    for event in events:
        topic = topics.topic_of_event(event.type)
        await producer.send_event(topic.full_name(settings.topic_prefix), event, key=event.subject or event.id)


def auth(settings: Settings, participant_id: str) -> dict[str, str]:
    token, _ = issue_token(settings, participant_id, PartyType.ENTERPRISE)
    return {"authorization": f"Bearer {token}"}


def operator(settings: Settings) -> dict[str, str]:
    return {"authorization": f"Bearer {settings.operator_secret()}"}


async def enable_webhook(client: httpx.AsyncClient, settings: Settings, receiver: WebhookReceiver,
                         participant_id: str, **preferences: Any) -> str:
    """Switch the participant's webhook on to the receiver; return the whsec_ secret shown once."""
    body = {"channels": {"webhook": {"enabled": True, "url": receiver.url(participant_id)},
                         "email": {"enabled": False}}, **preferences}
    response = await client.put("/me/preferences", json=body, headers=auth(settings, participant_id))
    assert response.status_code == 200, response.text
    secret = response.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    receiver.secrets[participant_id] = secret
    return secret


async def inbox_of(client: httpx.AsyncClient, settings: Settings, participant_id: str, **params: Any) -> list[dict]:
    response = await client.get("/inbox", params={"limit": 100, **params}, headers=auth(settings, participant_id))
    assert response.status_code == 200, response.text
    return response.json()["items"]
