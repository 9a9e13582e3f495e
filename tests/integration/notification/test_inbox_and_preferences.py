"""Fan-out to the inbox against the real broker and store: each party once, duplicates ignored,
bad events dead-lettered; preferences and the inbox API."""

from __future__ import annotations

import pytest

from services.notification.app import create_app
from shared import topics
from shared.kafka import DLQ_REASON
from tests.integration.notification.conftest import auth, inbox_of, operator, publish
from tests.support import OPERATOR, read_records, running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


async def test_match_reaches_both_parties_once_even_when_delivered_twice(notification_settings, producer):
    settings = notification_settings()
    match = samples.match_created("p_uni", "p_ent")
    async with running(create_app(settings)) as client:
        await publish(producer, settings, samples.participant("p_ent", language=samples.Language.EN))
        await wait_for(lambda: _language_is(client, settings, "p_ent", "en"), what="the profile's language")
        await publish(producer, settings, match, match)  # the same Kafka message twice
        await wait_for(lambda: inbox_of(client, settings, "p_ent"), what="the match notice")
        await publish(producer, settings, samples.consortium())
        await wait_for(lambda: inbox_of(client, settings, "p_inv"), what="the consortium notice")
        uni, ent = await inbox_of(client, settings, "p_uni"), await inbox_of(client, settings, "p_ent")
        assert [e["type"] for e in uni] == ["consortium.proposed", "match.created"]
        assert [e["type"] for e in ent] == ["consortium.proposed", "match.created"]
        assert uni[1]["language"] == "zh-CN" and "5G 基站射频前端" in uni[1]["subject"]
        assert ent[1]["language"] == "en" and "mmWave phased-array chip" in ent[1]["subject"]
        assert uni[1]["data"]["match_id"] == "m_1" and uni[0]["seq"] > uni[1]["seq"]


async def _language_is(client, settings, participant, language):
    response = await client.get("/me/preferences", headers=auth(settings, participant))
    return response.json()["language"] == language


async def test_invalid_events_are_dead_lettered_and_the_consumer_goes_on(notification_settings, producer):
    settings = notification_settings()
    matches = topics.MATCHES.full_name(settings.topic_prefix)
    async with running(create_app(settings)) as client:
        await producer.send(matches, b"{not json", key="m_x")
        await producer.send(matches, b'{"type": "match.created.v1", "source": "/x", "data": {"match_id": 1}}',
                            key="m_x")
        await publish(producer, settings, samples.match_created())
        await wait_for(lambda: inbox_of(client, settings, "p_uni"), what="the valid match after the poison")
        dead = await read_records(settings.kafka_bootstrap_servers,
                                  topics.dead_letter("notification").full_name(settings.topic_prefix), count=2)
        reasons = [dict(r.headers)[DLQ_REASON].decode() for r in dead]
        assert reasons[0].startswith("not JSON") and "match.created.v1: data" in reasons[1]
        metrics = (await client.get("/metrics", headers=OPERATOR)).text
        assert 'notifications_total{channel="inbox",outcome="sent"}' in metrics


async def test_preferences_round_trip_and_filter_what_is_notified(notification_settings, producer):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        headers = auth(settings, "p_ent")
        default = (await client.get("/me/preferences", headers=headers)).json()
        assert default["preferences"]["delivery"] == "immediate" and default["language"] == "zh-CN"
        assert default["webhook"] == {"secret_set": False, "disabled_at": None, "disabled_reason": None}
        put = await client.put("/me/preferences", headers=headers, json={
            "language": "en", "min_match_score": 0.9, "categories": ["match", "registration"]})
        assert put.status_code == 200 and put.json()["webhook_secret"] is None
        assert (await client.get("/me/preferences", headers=headers)).json()["preferences"]["min_match_score"] == 0.9
        await publish(producer, settings, samples.session(), samples.match_created(score=0.5, match_id="m_low"),
                      samples.consortium(), samples.match_created(score=0.95, match_id="m_high"))
        await wait_for(lambda: _count(client, settings, 3), what="the notices of p_uni")
        await publish(producer, settings, samples.registration())  # after the session, on the same partition
        await wait_for(lambda: _has(client, settings, "p_ent", "registration.confirmed"), what="the registration")
        entries = await inbox_of(client, settings, "p_ent")
        assert [(e["type"], e["data"].get("match_id")) for e in entries] == [
            ("registration.confirmed", None), ("match.created", "m_high")]
        assert entries[0]["subject"] == "Registration confirmed: Chengdu-Chongqing hard-tech pitch"
        assert len(await inbox_of(client, settings, "p_uni")) == 3  # defaults: everything


async def _has(client, settings, participant, kind):
    return any(e["type"] == kind for e in await inbox_of(client, settings, participant))


@pytest.mark.parametrize(("body", "location"), [
    ({"min_match_score": 2}, ["body", "min_match_score"]),
    ({"language": "fr"}, ["body", "language"]),
    ({"surprise": 1}, ["body", "surprise"]),
    ({"channels": {"webhook": {"enabled": True}}}, ["body", "channels", "webhook", "url"]),
    ({"channels": {"webhook": {"enabled": True, "url": "http://127.0.0.1:9/x"}}},
     ["body", "channels", "webhook", "url"]),
])
async def test_invalid_preferences_get_422_naming_the_field(notification_settings, body, location):
    settings = notification_settings(allow_private_webhooks=False)
    async with running(create_app(settings)) as client:
        response = await client.put("/me/preferences", json=body, headers=auth(settings, "p_1"))
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == location


async def test_private_webhook_urls_are_refused_unless_allowed(notification_settings):
    settings = notification_settings(allow_private_webhooks=False)
    async with running(create_app(settings)) as client:
        for url in ("http://localhost:8080/x", "http://10.0.0.5/x", "http://169.254.169.254/latest"):
            body = {"channels": {"webhook": {"enabled": True, "url": url}}}
            response = await client.put("/me/preferences", json=body, headers=auth(settings, "p_1"))
            assert response.status_code == 422, url
            assert "refused" in response.json()["detail"][0]["msg"]


async def test_identity_is_required_and_scoped(notification_settings):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        assert (await client.get("/inbox")).status_code == 401
        assert (await client.get("/inbox", headers={"authorization": "Bearer nope"})).status_code == 401
        assert (await client.get("/me/preferences", headers=operator(settings))).status_code == 403
        assert (await client.get("/operator/deliveries", headers=auth(settings, "p_1"))).status_code == 403
        assert (await client.get("/inbox", params={"cursor": "!!"}, headers=auth(settings, "p_1"))).status_code == 422


async def test_inbox_pages_marks_read_and_archives(notification_settings, producer):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        headers = auth(settings, "p_uni")
        await publish(producer, settings, *[samples.match_created(match_id=f"m_{n}") for n in range(5)])
        await wait_for(lambda: _count(client, settings, 5), what="five notices")
        first = (await client.get("/inbox", params={"limit": 2}, headers=headers)).json()
        second = (await client.get("/inbox", params={"limit": 2, "cursor": first["next_cursor"]},
                                   headers=headers)).json()
        third = (await client.get("/inbox", params={"limit": 2, "cursor": second["next_cursor"]},
                                  headers=headers)).json()
        entries = [e for page in (first, second, third) for e in page["items"]]
        assert sorted(e["data"]["match_id"] for e in entries) == ["m_0", "m_1", "m_2", "m_3", "m_4"]
        assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)  # newest first
        assert third["next_cursor"] is None
        newest = first["items"][0]["id"]
        read = await client.post(f"/inbox/{newest}/read", headers=headers)
        assert read.status_code == 200 and read.json()["read"] is True
        assert read.json()["data"] == first["items"][0]["data"]
        assert (await client.get("/inbox/unread-count", headers=headers)).json() == {"unread": 4}
        unread = await inbox_of(client, settings, "p_uni", unread="true")
        assert newest not in [e["id"] for e in unread] and len(unread) == 4
        assert (await client.post(f"/inbox/{unread[0]['id']}/archive", headers=headers)).json()["archived"]
        assert len(await inbox_of(client, settings, "p_uni")) == 4
        assert [e["id"] for e in await inbox_of(client, settings, "p_uni", archived="true")] == [unread[0]["id"]]
        # Someone else's notification is not found, as if it did not exist.
        other = await client.post(f"/inbox/{newest}/read", headers=auth(settings, "p_ent"))
        assert other.status_code == 404 and "inbox" in other.json()["detail"]


async def _count(client, settings, n):
    return len(await inbox_of(client, settings, "p_uni")) >= n
