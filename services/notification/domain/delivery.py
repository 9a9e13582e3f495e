"""Delivery rules for webhooks and e-mail: Standard Webhooks signatures, what an answer means,
when to try again (exponential backoff with jitter, ``Retry-After`` honoured), and which
addresses a webhook may not reach."""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from standardwebhooks.webhooks import Webhook


def signed_headers(secret: str, message_id: str, timestamp: datetime, body: str, *,
                   previous_secret: str | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers; the signature is ``v1,`` HMAC-SHA256 of
    ``id.timestamp.body``. While a rotated secret's overlap lasts, the previous secret's
    signature follows, space-separated: a receiver that still holds either one verifies it."""
    secrets = [secret] if previous_secret is None else [secret, previous_secret]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
    }


class ErrorClass(StrEnum):
    """What a participant (and the delivery log) is told about a failed attempt: a class, never
    the exception's text (which told internal network details, a port scanner's oracle)."""

    DNS_FAILURE = "dns_failure"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # connection refused or reset, TLS failure
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    HTTP_OTHER = "http_other"  # 1xx, or 3xx: redirects are not followed
    REFUSED_URL = "refused_url"  # never called: not http(s), or a non-global address
    DISABLED = "endpoint_disabled"
    SWITCHED_OFF = "switched_off"


def disabled_notice_context(url: str, *, attempts: int, first_attempt_at: datetime, last_attempt_at: datetime,
                            last_error: str | None) -> dict[str, Any]:
    """What the owner of an endpoint switched off after sustained failure is told."""
    hours = max(1, round((last_attempt_at - first_attempt_at).total_seconds() / 3600))
    return {"url": url, "attempts": attempts, "hours": hours, "last_error": last_error or "-"}


def http_error_class(status_code: int) -> ErrorClass:
    if 400 <= status_code < 500:
        return ErrorClass.HTTP_4XX
    if 500 <= status_code < 600:
        return ErrorClass.HTTP_5XX
    return ErrorClass.HTTP_OTHER


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"  # 410: the receiver asks us to stop; the endpoint is disabled


def verdict(status_code: int | None) -> Verdict:
    """What an attempt's answer means (``None``: no answer: timeout or connection error)."""
    if status_code is not None and 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code == 410:
        return Verdict.GONE
    return Verdict.RETRY


def retry_after_seconds(header: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or bad."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float
    retry_after_max_seconds: float

    def delay(self, attempts_made: int, retry_after: float | None, rng: random.Random | None = None) -> float | None:
        """Seconds until the next attempt after ``attempts_made`` failures; None when none is left.

        Exponential backoff with "equal jitter" (half fixed, half random), so receivers coming back
        after an outage are not hit by every sender at the same moment; a ``Retry-After`` asked by
        the receiver is waited at least (up to a cap)."""
        if attempts_made >= self.max_attempts:
            return None
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempts_made - 1))
        backoff = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.retry_after_max_seconds))
        return backoff


# IPv6 forms that carry an IPv4 address a router or translator will reach: NAT64 (the well-known
# prefix and the local-use one) and IPv4-compatible addresses; IPv4-mapped, 6to4 and Teredo are
# taken apart by ``ipaddress`` itself.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, if it is one of the forms that embed one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in NAT64) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def forbidden_address(address: str) -> str | None:
    """Why a webhook may not go to this IP address, or None: it and any IPv4 address it embeds
    must be global (``ipaddress``'s ``is_global``: not loopback, private, link-local, shared,
    reserved, documentation …)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scope id names an interface: link-local anyway
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)) is not None:
        candidates.insert(0, inner)
    for candidate in candidates:
        for reason, hit in (("loopback", candidate.is_loopback), ("link-local", candidate.is_link_local),
                            ("private", candidate.is_private), ("multicast", candidate.is_multicast),
                            ("unspecified", candidate.is_unspecified), ("reserved", candidate.is_reserved)):
            if hit:
                return f"{address} is a {reason} address" + (f" ({candidate})" if candidate != ip else "")
        if not candidate.is_global:
            return f"{address} is not a public address" + (f" ({candidate})" if candidate != ip else "")
    return None


_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


def noncanonical_ipv4(host: str) -> str | None:
    """Why a host written as a number is refused: decimal (2130706433), octal (0177.0.0.1), hex
    (0x7f.1) or short (127.1) forms of IPv4, which resolvers read differently. Only the dotted
    quad of decimal numbers without leading zeros is an IPv4 address here."""
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        if str(ipaddress.IPv4Address(host)) == host:
            return None
    except ValueError:
        pass
    return f"{host} is not an IPv4 address in dotted-quad form (a decimal, octal or hex form of one is refused)"
