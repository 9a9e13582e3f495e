"""Delivery rules for webhooks and e-mail: Standard Webhooks signatures, what an answer means,
when to try again (exponential backoff with jitter, ``Retry-After`` honoured), and which
addresses a webhook may not reach."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from standardwebhooks.webhooks import Webhook


def signed_headers(secret: str, message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers; the signature is ``v1,`` HMAC-SHA256 of ``id.timestamp.body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
        "content-type": "application/json",
    }


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
        rng = rng or random
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempts_made - 1))
        backoff = ceiling / 2 + rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.retry_after_max_seconds))
        return backoff


def forbidden_address(address: str) -> str | None:
    """Why a webhook may not go to this IP address (loopback, private, link-local, ...), or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, hit in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                        ("private", ip.is_private), ("multicast", ip.is_multicast),
                        ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if hit:
            return f"{address} is a {reason} address"
    if not ip.is_global:
        return f"{address} is not a public address"
    return None
