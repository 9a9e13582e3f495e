"""The real things the security tests' routes name, made through each service's own API (or, for
the matching read model, through its projection): on the listing service the participants
themselves (signed up, the organiser verified by the operator), a listing and a demand of the
owner; a session hosted by the organiser with the owner and the counterpart registered; a match
between the owner's need and the counterpart's offer with an agenda that puts them at one table;
that match's notification in both parties' inboxes; and the deal the owner opened on it, in both
parties' lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import topics
from shared.events import CloudEvent, new_event
from shared.events.matching import AgendaData, AgendaSlot, Meeting
from tests.security import bodies
from tests.security.conftest import PARTICIPANTS, PARTY_TYPE_OF, Identity, credentials
from tests.support import wait_for
from tests.unit.notification import samples

OWNER, OTHER, COUNTERPART, GOVERNMENT, ORGANISER, OPERATOR = (
    Identity.OWNER, Identity.OTHER, Identity.COUNTERPART, Identity.GOVERNMENT, Identity.ORGANISER, Identity.OPERATOR)
MATCH_ID = "m_sec"
AGENDA_SESSION = "s_sec_agenda"


def a_match(need_owner: str, offer_owner: str = "p_sec_counterpart") -> CloudEvent:
    """A match between the owner's need and the counterpart's offer."""
    return samples.match_created(offer_owner, need_owner, match_id=MATCH_ID)


def an_agenda(participants: dict[Identity, str]) -> CloudEvent:
    """Two meetings: the owner with the counterpart, the other participant with the government."""
    data = AgendaData(session_id=AGENDA_SESSION, version=1,
                      slots=[AgendaSlot(index=0, starts_at="2030-01-01T02:00:00Z", ends_at="2030-01-01T02:20:00Z")],
                      meetings=[Meeting(slot=0, table=0, participant_ids=(participants[OWNER], participants[COUNTERPART]),
                                        match_id=MATCH_ID, score=0.8),
                                Meeting(slot=0, table=1, participant_ids=(participants[OTHER], participants[GOVERNMENT]),
                                        score=0.5)])
    return new_event("agenda.published.v1", data, source="/services/matching", subject=AGENDA_SESSION)


@dataclass
class World:
    """The callers' participant ids and the ids of the real things the routes name."""

    participants: dict[Identity, str]
    ids: dict[str, str] = field(default_factory=dict)


async def created(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def sign_up_everyone(client: httpx.AsyncClient, settings: Any, world: World) -> dict[Identity, dict[str, str]]:
    """Every participant signs up on the listing service; the operator verifies the organiser."""
    keys: dict[Identity, str] = {}
    for identity in PARTICIPANTS:
        registered = await created(client, "/participants", bodies.participant(PARTY_TYPE_OF[identity].value), {})
        world.participants[identity] = registered["id"]
        keys[identity] = registered["api_key"]
    operator = credentials(settings, OPERATOR, "")
    granted = await client.put(f"/participants/{world.participants[ORGANISER]}/organiser", headers=operator,
                               json={"granted": True, "reason": "security suite: verified host"})
    assert granted.status_code == 200, granted.text
    headers = {}
    for identity, api_key in keys.items():
        token = await client.post("/auth/token", json={"api_key": api_key})
        assert token.status_code == 200, token.text
        headers[identity] = {"Authorization": f"Bearer {token.json()['access_token']}"}
    world.ids["api_key"] = keys[OWNER]
    for name in ("candidate", "revoked"):  # targets of the operator's routes
        world.ids[f"{name}_id"] = (await created(client, "/participants", bodies.participant("agency"), {}))["id"]
    return headers


async def make_world(service: str, app: Any, client: httpx.AsyncClient, settings: Any) -> tuple[World, dict[Identity, dict[str, str]]]:
    """The world of ``service`` and the headers each identity sends there, once the service is ready
    (its consumers take a while to join their group on a loaded machine; matching's API has no
    stream worker here and stays not ready by design)."""
    if service != "matching":
        await wait_for(lambda: ready(client), timeout=90, what=f"{service} /readyz")
    world = World({identity: f"p_sec_{identity.value}" for identity in PARTICIPANTS})
    if service == "listing":
        headers = await sign_up_everyone(client, settings, world)
    else:
        headers = {identity: credentials(settings, identity, world.participants[identity]) for identity in PARTICIPANTS}
    headers[Identity.ANONYMOUS] = {}
    headers[OPERATOR] = credentials(settings, OPERATOR, "")
    world.ids.update({f"{identity.value}_id": pid for identity, pid in world.participants.items()})
    owner = headers[OWNER]
    if service == "listing":
        world.ids["item_id"] = (await created(client, "/listings", bodies.item(), owner))["id"]
        world.ids["demand_id"] = (await created(client, "/demands", bodies.item(), owner))["id"]
    elif service == "events_sessions":
        world.ids["session_id"] = (await created(client, "/sessions", bodies.session(), headers[ORGANISER]))["id"]
        for identity, role in ((OWNER, "attendee"), (COUNTERPART, "attendee")):
            await created(client, f"/sessions/{world.ids['session_id']}/registrations", {"role": role},
                          headers[identity])
    elif service == "matching":  # the read model is projected by the stream worker, not run here
        world.ids.update(match_id=MATCH_ID, agenda_session_id=AGENDA_SESSION)
        await app.state.store.project(a_match(world.participants[OWNER], world.participants[COUNTERPART]))
        await app.state.store.project(an_agenda(world.participants))
    elif service == "notification":  # the owner also takes e-mail: its notice has a delivery record
        prefs = await client.put("/me/preferences", headers=owner,
                                 json={"channels": {"email": {"enabled": True, "address": "owner@example.com"}}})
        assert prefs.status_code == 200, prefs.text
        match = a_match(world.participants[OWNER], world.participants[COUNTERPART])
        topic = topics.topic_of_event(match.type).full_name(settings.topic_prefix)
        await app.state.resources.producer.send_event(topic, match, key=match.subject)
        world.ids["notification_id"] = await wait_for(
            lambda: first_inbox_entry(client, owner), timeout=30, what="the match in the owner's inbox")
        await wait_for(lambda: first_inbox_entry(client, headers[COUNTERPART]), timeout=30,
                       what="the match in the counterpart's inbox")
        world.ids["delivery_id"] = await wait_for(lambda: failed_delivery(client, headers[OPERATOR]), timeout=60,
                                                  what="the owner's e-mail delivery to fail")
    elif service == "deals":  # the match as the service's consumer keeps it; the owner opens its deal
        match = a_match(world.participants[OWNER], world.participants[COUNTERPART])
        await app.state.deals.receive_match(match.data, match)
        world.ids.update(match_id=MATCH_ID, deal_id=(await created(client, "/deals", {"match_id": MATCH_ID}, owner))["id"])
        for party in (owner, headers[COUNTERPART]):  # listed once the service consumed its deal.opened event
            await wait_for(lambda: first_deal(client, party),  # noqa: B023 - awaited in this iteration
                           timeout=30, what="the deal in its parties' lists")
    elif service == "monitor":  # it answers 503 (documented: not sampled yet) until its first round ends
        await wait_for(lambda: sampled(client, headers[OPERATOR]), timeout=60, what="the monitor's first sampling round")
    return world, headers


async def ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def sampled(client: httpx.AsyncClient, operator: dict[str, str]) -> bool:
    return (await client.get("/lag", headers=operator)).status_code == 200


async def first_deal(client: httpx.AsyncClient, headers: dict[str, str]) -> str | None:
    items = (await client.get("/me/deals", headers=headers)).json()["items"]
    return items[0]["id"] if items else None


async def first_inbox_entry(client: httpx.AsyncClient, headers: dict[str, str]) -> str | None:
    items = (await client.get("/inbox", headers=headers)).json()["items"]
    return items[0]["id"] if items else None


async def failed_delivery(client: httpx.AsyncClient, operator: dict[str, str]) -> str | None:
    items = (await client.get("/operator/deliveries", headers=operator)).json()["items"]
    return items[0]["id"] if items and items[0]["status"] != "pending" else None


def filled(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: filled(value, ids) for key, value in template.items()}
    return template
