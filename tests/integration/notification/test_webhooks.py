"""Signed webhooks to a real HTTP receiver that verifies them with the standardwebhooks library:
retries keep the webhook id, honour Retry-After, survive timeouts; 410 disables the endpoint;
the last failure goes to the dead-letter topic; operators replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from services.notification.app import create_app
from shared import topics
from shared.kafka import DLQ_REASON
from tests.integration.notification.conftest import auth, enable_webhook, inbox_of, operator, publish
from tests.support import OPERATOR, read_records, running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


def _delivered(receiver, name, count):
    """A probe: true once ``count`` attempts to ``name`` were answered 200."""
    async def probe():
        return sum(r.answered == 200 for r in receiver.of(name)) >= count
    return probe


async def _log(client, settings, message_id):
    response = await client.get(f"/operator/deliveries/{message_id}", headers=operator(settings))
    assert response.status_code == 200, response.text
    return response.json()


async def test_retries_keep_the_webhook_id_and_honour_retry_after(notification_settings, producer, receiver):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_ent")
        receiver.script["p_ent"] = [(500, {}), 2.5, (429, {"retry-after": "2"}), (200, {})]
        await publish(producer, settings, samples.match_created("p_uni", "p_ent"))
        await wait_for(_delivered(receiver, "p_ent", 1), timeout=30, what="the webhook after three failures")
        attempts = receiver.of("p_ent")
        assert [a.answered for a in attempts] == [500, 0, 429, 200]
        assert all(a.verified for a in attempts), "every attempt carries a valid Standard Webhooks signature"
        assert len({a.id for a in attempts}) == 1, "the webhook id stays the same across retries"
        assert attempts[3].at - attempts[2].at >= 1.9, "Retry-After was honoured"
        body = json.loads(attempts[3].body)
        assert body["type"] == "match.created" and body["data"]["id"] == attempts[0].id
        assert "mmWave phased-array chip" in body["data"]["subject"] or "毫米波" in body["data"]["subject"]

        # the receiver answers before the service records its answer: wait for the log to say so
        await wait_for(lambda: _status(client, settings, attempts[0].id, "delivered"), what="the delivery logged")
        log = await _log(client, settings, attempts[0].id)
        assert log["status"] == "delivered" and log["attempt_count"] == 4
        assert [a["status_code"] for a in log["attempts"]] == [500, None, 429, 200]
        # status classes, never an exception's text (which told internal network details)
        assert [a["error"] for a in log["attempts"]] == ["http_5xx", "timeout", "http_4xx", None]
        assert log["attempts"][2]["retry_after"] == "2"
        mine = await client.get(f"/me/deliveries/{attempts[0].id}", headers=auth(settings, "p_ent"))
        assert mine.status_code == 200 and mine.json()["attempt_count"] == 4
        assert [a["error"] for a in mine.json()["attempts"]] == ["http_5xx", "timeout", "http_4xx", None]
        theirs = await client.get(f"/me/deliveries/{attempts[0].id}", headers=auth(settings, "p_uni"))
        assert theirs.status_code == 404
        metrics = (await client.get("/metrics", headers=OPERATOR)).text
        for outcome in ("sent", "failed", "retried"):
            assert f'notifications_total{{channel="webhook",outcome="{outcome}"}}' in metrics


async def test_a_first_attempt_needs_no_claim_of_its_own(notification_settings, producer, receiver,
                                                         mongo_commands):
    """The fan-out stores a delivery claimed (a lease, due in the store only when it runs out), so
    its first attempt takes no lock and makes no claim: the attempt's record is its one update."""
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_ent")
        mongo_commands.clear()
        await publish(producer, settings, samples.match_created("p_uni", "p_ent"))
        await wait_for(_delivered(receiver, "p_ent", 1), what="the webhook")
        [attempt] = receiver.of("p_ent")
        await wait_for(lambda: _status(client, settings, attempt.id, "delivered"), what="the delivery logged")
        [stored] = [d for name, collection, c in mongo_commands.commands if name == "insert"
                    and collection == "deliveries" for d in c["documents"] if d["_id"] == attempt.id]
        assert stored["lease"] and stored["due_at"] - stored["created_at"] >= timedelta(
            seconds=settings.delivery_lease_seconds), "stored claimed, due in the store when the claim runs out"
        sent = [(name, collection) for name, collection, _ in mongo_commands.commands]
        assert ("findAndModify", "deliveries") not in sent, "no claim"
        assert not [d for name, collection, c in mongo_commands.commands if name == "insert" and collection == "locks"
                    for d in c["documents"] if attempt.id in str(d["_id"])], "no lock"
        log = await _log(client, settings, attempt.id)
        assert log["attempt_count"] == 1 and log["attempts"][0]["status_code"] == 200


async def test_gone_disables_the_endpoint_and_dead_letters(notification_settings, producer, receiver):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_uni")
        receiver.script["p_uni"] = [(410, {})]
        await publish(producer, settings, samples.match_created("p_uni", "p_ent", match_id="m_a"))
        dead = await read_records(settings.kafka_bootstrap_servers,
                                  topics.dead_letter("notification-webhooks").full_name(settings.topic_prefix), count=1)
        assert "410" in dict(dead[0].headers)[DLQ_REASON].decode()
        assert dead[0].key.decode() == receiver.of("p_uni")[0].id
        preferences = (await client.get("/me/preferences", headers=auth(settings, "p_uni"))).json()
        assert "410" in preferences["webhook"]["disabled_reason"]

        await publish(producer, settings, samples.match_created("p_uni", "p_ent", match_id="m_b"))
        await wait_for(lambda: _inbox_has(client, settings, "m_b"), what="the second match in the inbox")
        deliveries = (await client.get("/operator/deliveries", headers=operator(settings))).json()["items"]
        assert [d["status"] for d in deliveries] == ["dead"], "no webhook is queued for a disabled endpoint"
        assert len(receiver.of("p_uni")) == 1

        body = {"channels": {"webhook": {"enabled": True, "url": receiver.url("p_uni")}}}
        again = await client.put("/me/preferences", json=body, headers=auth(settings, "p_uni"))  # turns it back on
        assert again.json()["webhook"]["disabled_reason"] is None
        assert again.json()["webhook_secret"] is None, "the secret is shown once, when it is made"


async def _inbox_has(client, settings, match_id):
    return any(e["data"]["match_id"] == match_id for e in await inbox_of(client, settings, "p_uni"))


async def test_last_failure_is_dead_lettered_and_operators_replay(notification_settings, producer, receiver):
    settings = notification_settings(webhook_max_attempts=3)
    dead_letters = topics.dead_letter("notification-webhooks").full_name(settings.topic_prefix)
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_ent")
        receiver.script["p_ent"] = [(500, {})] * 3
        before = datetime.now(UTC).isoformat()
        await publish(producer, settings, samples.match_created("p_uni", "p_ent", match_id="m_1"))
        [dead] = await read_records(settings.kafka_bootstrap_servers, dead_letters, count=1)
        assert dict(dead.headers)[DLQ_REASON].decode() == \
            "gave up after 3 attempts: http_5xx; webhook disabled"
        message_id = receiver.of("p_ent")[0].id
        assert json.loads(dead.value)["data"]["id"] == message_id
        await wait_for(lambda: _status(client, settings, message_id, "dead"), what="the delivery marked dead")
        await _reenable_after_sustained_failure(client, settings, receiver, "p_ent", notices=1)

        replay = await client.post(f"/operator/deliveries/{message_id}/replay", headers=operator(settings))
        assert replay.status_code == 202
        await wait_for(_delivered(receiver, "p_ent", 1), what="the replayed webhook")
        assert {r.id for r in receiver.of("p_ent")} == {message_id}
        # the receiver answers before the service records its answer: wait for the log to say so
        await wait_for(lambda: _status(client, settings, message_id, "delivered"), what="the delivery logged")
        log = await _log(client, settings, message_id)
        assert [a["status_code"] for a in log["attempts"]] == [500, 500, 500, 200]

        receiver.script["p_ent"] = [(500, {})] * 3
        await publish(producer, settings, samples.match_created("p_uni", "p_ent", match_id="m_2"))
        await read_records(settings.kafka_bootstrap_servers, dead_letters, count=2)
        await wait_for(lambda: _dead_count(client, settings, 1), what="the second delivery marked dead")
        await _reenable_after_sustained_failure(client, settings, receiver, "p_ent", notices=2)
        bulk = await client.post("/operator/deliveries/replay", json={"since": before}, headers=operator(settings))
        assert bulk.status_code == 202 and bulk.json() == {"replayed": 1}
        await wait_for(_delivered(receiver, "p_ent", 2), what="the bulk-replayed webhook")
        assert (await client.post("/operator/deliveries/replay", json={"since": "yesterday"},
                                  headers=operator(settings))).status_code == 422
        assert (await client.post("/operator/deliveries/nope/replay", headers=operator(settings))).status_code == 404


async def _reenable_after_sustained_failure(client, settings, receiver, participant, *, notices):
    """A message that failed every attempt switched the endpoint off and told its owner; saving
    the webhook settings again switches it back on."""
    preferences = (await client.get("/me/preferences", headers=auth(settings, participant))).json()
    assert preferences["webhook"]["disabled_reason"] == "no delivery succeeded in 3 attempts"
    async def told_by_now():  # the notice goes through the fan-out consumer, the one writer of inboxes
        told = [e for e in await inbox_of(client, settings, participant) if e["type"] == "webhook.disabled"]
        return told if len(told) >= notices else None

    told = await wait_for(told_by_now, what=f"{notices} webhook.disabled notice(s) in the owner's inbox")
    assert len(told) == notices and receiver.url(participant) in told[0]["body"]
    body = {"channels": {"webhook": {"enabled": True, "url": receiver.url(participant)}, "email": {"enabled": False}}}
    again = await client.put("/me/preferences", json=body, headers=auth(settings, participant))
    assert again.status_code == 200 and again.json()["webhook"]["disabled_reason"] is None


async def _status(client, settings, message_id, status):
    return (await _log(client, settings, message_id))["status"] == status


async def _dead_count(client, settings, count):
    response = await client.get("/operator/deliveries", params={"status": "dead"}, headers=operator(settings))
    return len(response.json()["items"]) == count


async def test_a_rotated_secret_signs_with_both_during_the_overlap(notification_settings, producer, receiver):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        old_secret = await enable_webhook(client, settings, receiver, "p_ent")
        body = {"channels": {"webhook": {"enabled": True, "url": receiver.url("p_ent")}, "email": {"enabled": False}},
                "rotate_webhook_secret": True}
        rotated = await client.put("/me/preferences", json=body, headers=auth(settings, "p_ent"))
        new_secret = rotated.json()["webhook_secret"]
        assert new_secret.startswith("whsec_") and new_secret != old_secret
        receiver.secrets["p_ent"] = new_secret
        await publish(producer, settings, samples.match_created("p_uni", "p_ent"))
        await wait_for(_delivered(receiver, "p_ent", 1), what="the webhook after the rotation")
        [received] = receiver.of("p_ent")
        assert len(received.headers["webhook-signature"].split(" ")) == 2
        for secret in (new_secret, old_secret):  # a receiver holding either secret verifies it
            assert Webhook(secret).verify(received.body, received.headers) is not None
        assert received.verified
