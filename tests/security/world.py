"""The real things the security tests' routes name, made through each service's own API: a
listing and a demand of the participant, a session hosted by the organiser, a match between the
participant and someone else, and that match's notification in the participant's inbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import topics
from shared.events import CloudEvent
from tests.security import bodies
from tests.security.conftest import Identity, credentials
from tests.support import wait_for
from tests.unit.notification import samples

PARTICIPANT, ORGANISER, OPERATOR = Identity.PARTICIPANT, Identity.ORGANISER, Identity.OPERATOR
MATCH_ID = "m_sec"


def a_match(participant_id: str) -> CloudEvent:
    """A match between the participant's need and another participant's offer."""
    return samples.match_created("p_sec_university", participant_id, match_id=MATCH_ID)


@dataclass
class World:
    """The callers' participant ids and the ids of the real things the routes name."""

    participants: dict[Identity, str]
    ids: dict[str, str] = field(default_factory=dict)


async def created(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def make_world(service: str, app: Any, client: httpx.AsyncClient, settings: Any) -> World:
    world = World({PARTICIPANT: "p_sec_enterprise", ORGANISER: "p_sec_government"})
    if service == "listing":
        for identity, party_type in ((PARTICIPANT, "enterprise"), (ORGANISER, "government")):
            registered = await created(client, "/participants", bodies.participant(party_type), {})
            world.participants[identity] = registered["id"]
            world.ids.setdefault("api_key", registered["api_key"])
    owner = credentials(settings, PARTICIPANT, world.participants[PARTICIPANT])
    world.ids.update(participant_id=world.participants[PARTICIPANT], organiser_id=world.participants[ORGANISER])
    if service == "listing":
        world.ids["item_id"] = (await created(client, "/listings", bodies.item(), owner))["id"]
        world.ids["demand_id"] = (await created(client, "/demands", bodies.item(), owner))["id"]
    elif service == "events_sessions":
        host = credentials(settings, ORGANISER, world.participants[ORGANISER])
        world.ids["session_id"] = (await created(client, "/sessions", bodies.session(), host))["id"]
    elif service in ("matching", "notification"):
        match = a_match(world.participants[PARTICIPANT])
        world.ids["match_id"] = MATCH_ID
        if service == "matching":  # the read model is projected by the stream worker, not run here
            await app.state.store.project(match)
        else:
            topic = topics.topic_of_event(match.type).full_name(settings.topic_prefix)
            await app.state.resources.producer.send_event(topic, match, key=match.subject)
            world.ids["notification_id"] = await wait_for(
                lambda: first_inbox_entry(client, owner), timeout=30, what="the match in the participant's inbox")
    elif service == "monitor":  # it answers 503 (documented: not sampled yet) until its first round ends
        operator = credentials(settings, OPERATOR, "")
        await wait_for(lambda: sampled(client, operator), timeout=60, what="the monitor's first sampling round")
    return world


async def sampled(client: httpx.AsyncClient, operator: dict[str, str]) -> bool:
    return (await client.get("/lag", headers=operator)).status_code == 200


async def first_inbox_entry(client: httpx.AsyncClient, headers: dict[str, str]) -> str | None:
    items = (await client.get("/inbox", headers=headers)).json()["items"]
    return items[0]["id"] if items else None


def filled(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: filled(value, ids) for key, value in template.items()}
    return template
