"""Inputs a generator from the OpenAPI hardly ever makes, each of which was a 500 once:
cursors are opaque base64 strings in the schema, so Schemathesis never builds one holding a
wrong key (an object, a huge integer...); integers beyond MongoDB's 8 bytes; dates whose offset
pushes them past the calendar's ends; a naive time where a zoned one is compared; a host name
IDNA cannot encode. Each must be a 422 naming the field, never a 5xx."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.security import bodies
from tests.security.conftest import SERVICES, Identity, credentials
from tests.security.world import World, filled, make_world
from tests.support import running

pytestmark = pytest.mark.integration

# The routes that page with a cursor, and who may call them.
LISTS: dict[str, list[tuple[str, Identity]]] = {
    "listing": [("/listings", Identity.OWNER), ("/demands", Identity.OPERATOR)],
    "events_sessions": [("/sessions", Identity.ANONYMOUS), ("/sessions/{session_id}/registrations", Identity.ORGANISER),
                        ("/me/registrations", Identity.OWNER), ("/me/agenda", Identity.OWNER)],
    "matching": [("/matches", Identity.OWNER), ("/consortia", Identity.OPERATOR)],
    "notification": [("/inbox", Identity.OWNER), ("/operator/deliveries", Identity.OPERATOR)],
    "monitor": [("/lag", Identity.OPERATOR)],
    "deals": [("/me/deals", Identity.OWNER)],
}
KEYS: list[Any] = [
    [{}], [[]], [None], [True], [1.5], [-1], [2**70], [-(2**70)], [2**63], [1e308], ["x"], [{"$gt": ""}],
    ["x", "y", "z"], [1, "x"], ["x", 1], ["2030-01-01T00:00:00+00:00", "s_1"], ["2030-01-01", 5],
    ["2030-01-01T00:00:00+00:00", "s_1", 2**70], ["\u0000"], ["a" * 300],
]


@asynccontextmanager
async def in_world(service: str, settings_of: Callable[..., Any]) -> AsyncIterator[tuple[httpx.AsyncClient, World, Any]]:
    """The service running in-process with its test world (participants, ids) made."""
    settings = settings_of(service)
    app = SERVICES[service].create_app(settings)
    async with running(app) as client:
        world, _ = await make_world(service, app, client, settings)
        yield client, world, settings


def cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.mark.parametrize("service", list(LISTS))
async def test_crafted_cursors_are_refused_or_served(service: str, settings_of: Callable[..., Any],
                                                     registry_topics) -> None:
    wrong = []
    async with in_world(service, settings_of) as (client, world, settings):
        for path, identity in LISTS[service]:
            headers = credentials(settings, identity, world.participants.get(identity, ""))
            for key in KEYS:
                response = await client.get(filled(path, world.ids), params={"cursor": cursor(key)}, headers=headers)
                refused = response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "cursor"]
                if not (refused or response.status_code == 200):
                    wrong.append(f"GET {path}?cursor={key!r:.60}: {response.status_code} {response.text[:150]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("last_event_id", ["²", "99999999999999999999999", "-1", "1e3", ""])
async def test_a_bad_last_event_id_is_a_422(last_event_id: str, settings_of: Callable[..., Any]) -> None:
    """The live stream resumes after ``Last-Event-ID``; one that is no inbox sequence number is a 422."""
    settings = settings_of("notification")
    async with running(SERVICES["notification"].create_app(settings)) as client:
        headers = {**credentials(settings, Identity.OWNER, "p_sec_enterprise"),
                   "Last-Event-ID": last_event_id.encode("latin-1")}
        response = await client.get("/stream", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


@dataclass(frozen=True)
class Crafted:
    method: str
    path: str
    caller: Identity
    loc: list[str]  # where the 422 must say the problem is
    json: Any = None
    params: dict[str, str] | None = None


HUGE = 2**70  # MongoDB stores integers of at most 8 bytes
PAST_THE_END = "9999-12-31T23:59:59-23:59"  # in UTC, past year 9999
SESSION = bodies.session()
CRAFTED: dict[str, list[Crafted]] = {
    "listing": [
        Crafted("POST", "/listings", Identity.OWNER, ["body", "expires_at"],
                json={**bodies.item(), "expires_at": PAST_THE_END}),
        Crafted("PATCH", "/demands/{demand_id}", Identity.OWNER, ["body", "expires_at"],
                json={"expires_at": "0001-01-01T00:00:00+00:01"}),
    ],
    "events_sessions": [
        Crafted("POST", "/sessions", Identity.ORGANISER, ["body", "capacity", "presenters"],
                json={**SESSION, "capacity": {"presenters": HUGE, "attendees": 5}}),
        Crafted("POST", "/sessions", Identity.ORGANISER, ["body", "quotas", "enterprise"],
                json={**SESSION, "quotas": {"enterprise": HUGE}}),
        Crafted("POST", "/sessions", Identity.ORGANISER, ["body", "meeting_plan", "max_meetings"],
                json={**SESSION, "meeting_plan": {**SESSION["meeting_plan"], "max_meetings": HUGE}}),
        Crafted("POST", "/sessions", Identity.ORGANISER, ["body", "ends_at"], json={**SESSION, "ends_at": PAST_THE_END}),
        Crafted("POST", "/sessions", Identity.ORGANISER, ["body", "meeting_plan"],
                json={**SESSION, "meeting_plan": {**SESSION["meeting_plan"], "first_slot_at": "2030-01-01T10:00:00"}}),
        Crafted("PATCH", "/sessions/{session_id}", Identity.ORGANISER, ["body", "registration_closes_at"],
                json={"registration_closes_at": PAST_THE_END}),
        Crafted("GET", "/sessions", Identity.ANONYMOUS, ["query", "starts_from"],
                params={"starts_from": "0001-01-01T00:00:00+05:00"}),
    ],
    "notification": [
        Crafted("POST", "/operator/deliveries/replay", Identity.OPERATOR, ["body", "since"], json={"since": PAST_THE_END}),
        Crafted("PUT", "/me/preferences", Identity.OWNER, ["body", "channels", "webhook", "url"],
                json={"channels": {"webhook": {"enabled": True, "url": f"http://{'a' * 64}.example.com/hook"}}}),
    ],
}


@pytest.mark.parametrize("service", list(CRAFTED))
async def test_crafted_values_are_a_422_naming_the_field(service: str, settings_of: Callable[..., Any],
                                                         registry_topics) -> None:
    wrong = []
    async with in_world(service, settings_of) as (client, world, settings):
        for crafted in CRAFTED[service]:
            headers = credentials(settings, crafted.caller, world.participants.get(crafted.caller, ""))
            response = await client.request(crafted.method, filled(crafted.path, world.ids), headers=headers,
                                            json=crafted.json, params=crafted.params)
            locs = [e["loc"] for e in response.json()["detail"]] if response.status_code == 422 else []
            if crafted.loc not in locs:
                wrong.append(f"{crafted.method} {crafted.path} {crafted.loc}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
