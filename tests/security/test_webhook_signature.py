"""A webhook's signature is verifiable by any Standard Webhooks library, not only the one the
service signs with: the headers made by the service's code path are checked here with the
``standardwebhooks`` package and with the spec's algorithm written out independently
(HMAC-SHA256 over ``id.timestamp.body`` with the base64 key after ``whsec_``, ``v1,`` + base64).

The whole delivery path (a real HTTP receiver verifying each attempt with ``standardwebhooks``,
retries keeping the id) is covered by tests/integration/notification/test_webhooks.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notification.domain.delivery import signed_headers
from services.notification.domain.preferences import new_webhook_secret

BODY = json.dumps({"type": "match.created", "data": {"id": "msg_1", "subject": "匹配 / match"}}, ensure_ascii=False)


def spec_signature(secret: str, message_id: str, timestamp: str, body: str) -> str:
    """The Standard Webhooks symmetric signature, straight from the specification."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@pytest.fixture
def signed() -> tuple[str, dict[str, str]]:
    secret = new_webhook_secret()
    return secret, signed_headers(secret, "msg_2Lq7", datetime.now(UTC), BODY)


def test_headers_follow_the_standard(signed: tuple[str, dict[str, str]]) -> None:
    secret, headers = signed
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert headers["webhook-id"] == "msg_2Lq7" and headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")


def test_the_spec_algorithm_verifies_the_signature(signed: tuple[str, dict[str, str]]) -> None:
    secret, headers = signed
    expected = spec_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], BODY)
    offered = headers["webhook-signature"].split(" ")  # several signatures may be offered while rotating keys
    assert any(hmac.compare_digest(expected, s) for s in offered)


def test_the_standardwebhooks_library_verifies_the_signature(signed: tuple[str, dict[str, str]]) -> None:
    secret, headers = signed
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_a_changed_message_or_another_secret_fails_verification(signed: tuple[str, dict[str, str]],
                                                               tamper: str) -> None:
    secret, headers = signed
    body, headers = BODY, dict(headers)
    if tamper == "body":
        body = BODY.replace("match.created", "match.retracted")
    elif tamper == "id":
        headers["webhook-id"] = "msg_other"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        secret = new_webhook_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    assert spec_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body) \
        not in headers["webhook-signature"].split(" ")
