"""Secrets never reach a log line: registration (API key), token exchange (JWT) and webhook
set-up (``whsec_`` secret) run with every logger at DEBUG, captured raw (caplog) and through
the services' JSON formatter (``shared/logging.py``)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.logging import JsonFormatter
from tests.security import bodies
from tests.security.conftest import SERVICES, bearer
from tests.support import running

pytestmark = pytest.mark.integration

# Where a secret could still show in a raw record: loggers of this project's code. Libraries
# (pymongo's command log, for one) may print stored documents at DEBUG; in a service their
# loggers are raised to WARNING by shared.logging.configure and the JSON formatter redacts.
OUR_LOGGERS = re.compile(r"^(services|shared|http|hardtech)(\.|$)")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record at DEBUG, formatted as the services format them in production."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("security-test"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def raw_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.exc_text or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def exercise(listing: httpx.AsyncClient, notification: httpx.AsyncClient) -> list[str]:
    """Register, exchange the key (also wrongly, and too often), set up a webhook; the secrets seen."""
    registered = await listing.post("/participants", json=bodies.participant("enterprise"),
                                    headers={"Idempotency-Key": "sec-logs-1"})
    assert registered.status_code == 201, registered.text
    replayed = await listing.post("/participants", json=bodies.participant("enterprise"),
                                  headers={"Idempotency-Key": "sec-logs-1"})
    assert replayed.json()["api_key"] is None  # a key is shown once
    first_key = registered.json()["api_key"]
    exchanged = await listing.post("/auth/token", json={"api_key": first_key})
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()["access_token"]
    rotated = await listing.post("/participants/me/api-key", headers=bearer(token))
    assert rotated.status_code == 201, rotated.text
    api_keys = [first_key, rotated.json()["api_key"]]
    # Bad inputs that carry a secret: an unknown field next to the key, a revoked key, a token in a wrong place.
    assert (await listing.post("/auth/token", json={"api_key": api_keys[1], "extra": 1})).status_code == 422
    assert (await listing.delete("/participants/me/api-key", headers=bearer(token))).status_code == 204
    assert (await listing.post("/auth/token", json={"api_key": api_keys[0]})).status_code == 401
    assert (await listing.get("/participants/me", headers=bearer(token + "x"))).status_code == 401
    assert (await listing.get("/participants/me", headers=bearer(token))).status_code == 200
    preferences = await notification.put("/me/preferences", headers=bearer(token), json={
        "channels": {"webhook": {"enabled": True, "url": "http://127.0.0.1:9/hooks/sec"}, "email": {"enabled": False}}})
    assert preferences.status_code == 200, preferences.text
    webhook_secret = preferences.json()["webhook_secret"]
    assert webhook_secret.startswith("whsec_")
    return [*api_keys, token, webhook_secret]


async def test_no_api_key_token_or_webhook_secret_in_any_log_line(
        settings_of: Callable[..., Any], registry_topics, caplog: pytest.LogCaptureFixture,
        json_log: io.StringIO) -> None:
    caplog.set_level(logging.DEBUG)
    listing = SERVICES["listing"].create_app(settings_of("listing"))
    notification = SERVICES["notification"].create_app(
        settings_of("notification", allow_private_webhooks=True))
    async with running(listing) as listing_client, running(notification) as notification_client:
        secrets = await exercise(listing_client, notification_client)

    formatted = json_log.getvalue()
    assert len(formatted.splitlines()) > 50, "DEBUG logging was on and captured"
    leaks = [f"JSON log: {secret[:10]}…" for secret in secrets if secret in formatted]
    leaks += [f"{record.name}: {secret[:10]}…" for record in caplog.records if OUR_LOGGERS.match(record.name)
              for secret in secrets if secret in raw_text(record)]
    assert not leaks, leaks
