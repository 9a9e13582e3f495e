"""Adapters that reach recipients outside the service: signed webhooks over HTTP and e-mail over
SMTP, and the address check that keeps webhooks off internal networks."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiosmtplib
import httpx

from services.notification.domain.delivery import forbidden_address, signed_headers
from services.notification.settings import Settings


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    retry_after: str | None
    duration_ms: int


async def refused_url(url: str, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to ``url``, or None. Every address the host resolves to must
    be public (a name with one public and one private address is refused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    if allow_private:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode (empty, over 63 characters)
        return f"cannot resolve {parts.hostname}: {exc}"
    for info in infos:
        reason = forbidden_address(str(info[4][0]))
        if reason:
            return f"{parts.hostname} resolves to {reason}"
    return None


class WebhookSender:
    def __init__(self, settings: Settings):
        self._timeout = settings.webhook_timeout_seconds
        # Redirects are not followed: a receiver must not bounce us to an address we refused.
        self._client = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=200),
                                         headers={"user-agent": "HardTechExpress-Webhooks/1.0"})

    async def send(self, url: str, secret: str, message_id: str, body: str, now: datetime) -> AttemptResult:
        headers = signed_headers(secret, message_id, now, body)
        started = time.perf_counter()
        try:
            response = await self._client.post(url, content=body.encode(), headers=headers, timeout=self._timeout)
        except httpx.TimeoutException:
            return AttemptResult(None, f"no answer within {self._timeout:g}s", None, _since(started))
        except httpx.HTTPError as exc:
            return AttemptResult(None, f"{type(exc).__name__}: {exc}", None, _since(started))
        error = None if response.is_success else f"HTTP {response.status_code}"
        return AttemptResult(response.status_code, error, response.headers.get("retry-after"), _since(started))

    async def close(self) -> None:
        await self._client.aclose()


class EmailSender:
    def __init__(self, settings: Settings):
        self._settings = settings

    async def send(self, to: str, subject: str, body: str, message_id: str) -> AttemptResult:
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.smtp_sender
        message["To"] = to
        message["Subject"] = subject
        # The same Message-ID on every attempt lets mail systems drop a duplicate.
        message["Message-ID"] = f"<{message_id}@hardtech-express>"
        message.set_content(body)
        started = time.perf_counter()
        try:
            await aiosmtplib.send(
                message, hostname=settings.smtp_host, port=settings.smtp_port, start_tls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                timeout=settings.smtp_timeout_seconds)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            return AttemptResult(None, f"{type(exc).__name__}: {exc}", None, _since(started))
        return AttemptResult(250, None, None, _since(started))


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
