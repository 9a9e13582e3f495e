"""Adapters that reach recipients outside the service: signed webhooks over HTTP and e-mail over
SMTP, and the address check that keeps webhooks off internal networks: a webhook's host is
resolved once per attempt, every address checked, and the connection made to a checked address
(pinned), never redirected."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import httpcore
import httpx

from services.notification.domain.delivery import (
    ErrorClass, forbidden_address, http_error_class, noncanonical_ipv4, signed_headers,
)
from services.notification.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None  # a status class (``ErrorClass``) for webhooks: never an exception's text
    retry_after: str | None
    duration_ms: int


class RefusedUrl(Exception):
    """A webhook URL that may never be called: not http(s), or a host with a non-global address."""


async def checked_addresses(url: str, *, allow_private: bool) -> list[str]:
    """Resolve the URL's host once and check every address it gives (a name with one public and
    one private address is refused). Raises ``RefusedUrl``, or ``OSError`` when the name cannot
    be resolved now (retried: DNS fails for a while too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedUrl(f"{url!r} is not an http(s) URL with a host")
    host = parts.hostname
    reason = noncanonical_ipv4(host)
    if reason:
        raise RefusedUrl(reason)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # a label IDNA cannot encode (empty, over 63 characters)
        raise RefusedUrl(f"{host} is not a valid host name: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            reason = forbidden_address(address)
            if reason:
                raise RefusedUrl(f"{host} resolves to {reason}")
    return addresses


async def refused_url(url: str, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to ``url``, or None (checked when a participant saves it)."""
    try:
        await checked_addresses(url, allow_private=allow_private)
    except RefusedUrl as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot resolve {urlsplit(url).hostname}: {exc}"
    return None


# The addresses each request was checked against, by (host, port): the connection goes to one of
# them, never to a second resolution of the name (a DNS-rebinding window).
_pinned: ContextVar[dict[tuple[str, int], list[str]]] = ContextVar("pinned webhook addresses")


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses checked for the current request. TLS still verifies the
    certificate for, and sends SNI of, the URL's host name: httpcore takes both from the URL."""

    def __init__(self) -> None:
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = _pinned.get({}).get((host, port))
        if not addresses:
            raise httpcore.ConnectError(f"{host}:{port} was not checked")
        for address in addresses[:-1]:
            try:
                return await self._network.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return await self._network.connect_tcp(addresses[-1], port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


def _pinned_transport(max_connections: int) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport()
    # httpx 0.28 takes no network backend; its transport's pool is replaced by one that has ours.
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(), max_connections=max_connections, network_backend=_PinnedBackend())
    return transport


class WebhookSender:
    def __init__(self, settings: Settings):
        self._timeout = settings.webhook_timeout_seconds
        self._allow_private = settings.allow_private_webhooks
        # Redirects are not followed: a receiver must not bounce us to an address we refused.
        # No proxy from the environment: the connection must go to the checked address.
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False, transport=_pinned_transport(200),
                                         headers={"user-agent": "HardTechExpress-Webhooks/1.0"})

    async def send(self, url: str, secrets: list[str], message_id: str, body: str, now: datetime) -> AttemptResult:
        """One attempt, signed with each of ``secrets`` (the current one first): resolve and check
        the host, then POST to a checked address. Raises
        ``RefusedUrl`` for a URL that may never be called; every other failure is an attempt
        that failed with a status class, to be retried."""
        started = time.perf_counter()
        parts = urlsplit(url)
        try:
            addresses = await checked_addresses(url, allow_private=self._allow_private)
        except OSError as exc:
            log.info("webhook %s: cannot resolve %s: %s", message_id, parts.hostname, exc)
            return AttemptResult(None, ErrorClass.DNS_FAILURE, None, _since(started))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        token = _pinned.set({(parts.hostname or "", port): addresses})
        try:
            response = await self._client.post(url, content=body.encode(), timeout=self._timeout,
                                               headers=signed_headers(secrets[0], message_id, now, body,
                                                                      previous_secret=next(iter(secrets[1:]), None)))
        except httpx.TimeoutException as exc:
            log.info("webhook %s: no answer from %s within %gs: %r", message_id, parts.hostname, self._timeout, exc)
            return AttemptResult(None, ErrorClass.TIMEOUT, None, _since(started))
        except httpx.HTTPError as exc:
            log.info("webhook %s: %s unreachable: %r", message_id, parts.hostname, exc)
            return AttemptResult(None, ErrorClass.UNREACHABLE, None, _since(started))
        finally:
            _pinned.reset(token)
        error = None if response.is_success else http_error_class(response.status_code)
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
