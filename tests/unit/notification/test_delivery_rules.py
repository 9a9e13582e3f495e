from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notification.domain.delivery import (
    RetryPolicy,
    Verdict,
    forbidden_address,
    noncanonical_ipv4,
    retry_after_seconds,
    signed_headers,
    verdict,
)
from services.notification.domain.digest import digest_id, due_at, window_end
from services.notification.domain.preferences import new_webhook_secret
from services.notification.settings import Settings
from services.notification.storage import RecipientRecord

NOW = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)


def test_signature_verifies_with_the_standard_webhooks_library():
    secret = new_webhook_secret()
    now = datetime.now(UTC)
    body = '{"type":"match.created","data":{"subject":"新的技术匹配"}}'
    headers = signed_headers(secret, "msg_1", now, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"]["subject"] == "新的技术匹配"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("match", "matsh"), headers)


@pytest.mark.parametrize(("code", "expected"), [(200, Verdict.DELIVERED), (204, Verdict.DELIVERED),
                                                (410, Verdict.GONE), (500, Verdict.RETRY), (429, Verdict.RETRY),
                                                (404, Verdict.RETRY), (None, Verdict.RETRY)])
def test_verdicts(code, expected):
    assert verdict(code) is expected


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("7", now=NOW) == 7
    assert retry_after_seconds("Mon, 01 Jun 2026 09:01:00 GMT", now=NOW) == 30
    assert retry_after_seconds("soon", now=NOW) is None and retry_after_seconds(None, now=NOW) is None


def test_backoff_grows_with_jitter_honours_retry_after_and_ends():
    policy = RetryPolicy(max_attempts=5, base_seconds=2, max_seconds=10, retry_after_max_seconds=60)
    rng = random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(1, 5)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(10, 2 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(policy.delay(3, None, rng), 6) for _ in range(20)}) > 1  # jitter
    assert policy.delay(1, 30, rng) == 30
    assert policy.delay(1, 3600, rng) == 60  # capped
    assert policy.delay(5, None, rng) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.5.5", "169.254.169.254",
                                     "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1",
                                     "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::",
                                     "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "::127.0.0.1",
                                     "fe80::1%eth0", "fc00::1", "2001:db8::1"])
def test_internal_addresses_are_refused(address):
    assert forbidden_address(address)


def test_public_addresses_are_allowed():
    assert forbidden_address("93.184.216.34") is None and forbidden_address("2606:4700::1111") is None
    assert forbidden_address("2002:5db8:d822::1") is None  # 6to4 of a public address


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f000001", "0x7f.1", "127.1", "1.2.3.04", "017700000001"])
def test_decimal_octal_hex_and_short_ipv4_hosts_are_refused(host):
    assert "dotted-quad" in noncanonical_ipv4(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "8.8.8.8", "example.com", "1e3.example", "hooks-2.example.org"])
def test_names_and_dotted_quads_are_left_to_the_address_check(host):
    assert noncanonical_ipv4(host) is None


class _LowestJitter:
    @staticmethod
    def uniform(low: float, high: float) -> float:
        return low


def test_the_default_retries_span_more_than_a_day_even_with_the_least_jitter():
    settings = Settings()
    policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_base_seconds,
                         settings.webhook_backoff_max_seconds, settings.retry_after_max_seconds)
    delays = []
    while (delay := policy.delay(len(delays) + 1, None, _LowestJitter())) is not None:
        delays.append(delay)
    assert len(delays) == settings.webhook_max_attempts - 1
    assert sum(delays) >= 24 * 3600
    assert delays == sorted(delays) and delays[0] <= 10  # exponential: soon at first, hours apart at the end


def test_a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends():
    until = NOW + timedelta(hours=24)
    record = RecipientRecord(None, {"webhook_secret": "whsec_new",
                                    "previous_webhook_secret": {"secret": "whsec_old", "until": until}}, None)
    assert record.webhook_secrets(NOW) == ["whsec_new", "whsec_old"]
    assert record.webhook_secrets(until) == ["whsec_new"]
    assert RecipientRecord(None, None, None).webhook_secrets(NOW) == []


def test_both_signatures_verify_with_the_standard_webhooks_library():
    new, old = "whsec_" + base64.b64encode(b"n" * 32).decode(), "whsec_" + base64.b64encode(b"o" * 32).decode()
    body = '{"type":"match.created"}'
    headers = signed_headers(new, "msg_rotated", datetime.now(UTC), body, previous_secret=old)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret).verify(body, headers)  # raises unless one signature is this secret's


def test_digest_windows_are_aligned_and_sent_after_a_grace():
    end = window_end(NOW, 3600)
    assert end == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert window_end(end - timedelta(microseconds=1), 3600) == end and window_end(end, 3600) > end
    assert due_at(end, 2) == end + timedelta(seconds=2)
    assert digest_id("p", "email", end) != digest_id("p", "webhook", end)
