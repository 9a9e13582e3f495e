"""The authorisation matrix of every service: each route is called by seven callers (anonymous,
the owner of the things the route names, another participant, the owner's counterpart in a match
and a meeting, an unverified government participant, a verified organiser hosting the session,
and the operator), and each cell is the exact status that caller must get. For reads, the cell
also says which top-level fields the answer has (a participant's contact fields only for itself
and operators) and, for lists, how many entries the caller sees.

The real things the routes name are made first (tests/security/world.py). The rows of each
service are exactly its OpenAPI document's routes: a new route without a row fails the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from services.deals.api import FunnelOut
from services.deals.domain.model import Deal
from services.events_sessions.schemas import RegistrationOut, SessionOut
from services.matching.api import MatchView
from services.monitor.api import LagPage
from shared.events.listing import ItemData
from shared.events.matching import AgendaData
from tests.security import bodies
from tests.security.conftest import SERVICES, Identity, credentials
from tests.security.world import filled, make_world
from tests.support import running

pytestmark = pytest.mark.integration

A, O, X, C, G, R, P = (  # noqa: E741 - one letter per identity, the matrix's legend
    Identity.ANONYMOUS, Identity.OWNER, Identity.OTHER, Identity.COUNTERPART, Identity.GOVERNMENT, Identity.ORGANISER,
    Identity.OPERATOR)
# The owner and the counterpart last, so that others meet their things before a withdrawal or a
# cancellation changes them; the operator early, so that its writes come first.
CALLING_ORDER = [A, P, R, G, X, C, O]
PARTICIPANTS = (O, X, C, G, R)


def cells(default: int, **by_identity: int) -> dict[Identity, int]:
    """Every caller's status: ``default`` unless named (a=anonymous, o=owner, x=other, c=counterpart,
    g=government, r=organiser, p=operator)."""
    named = {Identity(_LETTERS[k]): v for k, v in by_identity.items()}
    return {identity: named.get(identity, default) for identity in Identity}


_LETTERS = {"a": "anonymous", "o": "owner", "x": "other", "c": "counterpart", "g": "government", "r": "organiser",
            "p": "operator"}


def anyone(status: int) -> dict[Identity, int]:
    return cells(status)


def signed_in(status: int, **others: int) -> dict[Identity, int]:
    return cells(status, **{"a": 401, **others})


def participants(status: int, **others: int) -> dict[Identity, int]:
    """A participant's token; the operator is not a participant."""
    return cells(status, **{"a": 401, "p": 403, **others})


def operators(status: int) -> dict[Identity, int]:
    return cells(403, a=401, p=status)


def organisers(status: int, **others: int) -> dict[Identity, int]:
    """The verified organiser and the operator; the unverified government is refused like anyone."""
    return cells(403, **{"a": 401, "r": status, "p": status, **others})


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # a template filled with the world's ids
    status: dict[Identity, int]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # For answers with the success status: the top-level fields, the same for all or per caller.
    fields: frozenset[str] | dict[Identity, frozenset[str]] | None = None
    # For lists: the entries each caller sees under ``count_of``.
    count_of: str = "items"
    counts: dict[Identity, int] | None = None
    schema_path: str | None = None  # the OpenAPI path when the template fills in more than ids

    def fields_for(self, identity: Identity) -> frozenset[str] | None:
        return self.fields.get(identity) if isinstance(self.fields, dict) else self.fields


def keys(*names: str) -> frozenset[str]:
    return frozenset(names)


def fields_of(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


PAGE = keys("items", "next_cursor")
MATCH_PAGE = keys("items", "next_cursor", "total")  # matching's page of matches says how many there are
HEALTH = keys("status", "checks")
PROFILE = keys("id", "party_type", "organisation", "display_name", "region", "fields", "language", "email",
               "webhook_url", "organiser", "organiser_reason", "version")
PUBLIC_PROFILE = keys("id", "party_type", "organisation", "display_name", "region", "fields", "language", "organiser")
# The other answers' fields as their response models declare them.
ITEM, SESSION, REGISTRATION = fields_of(ItemData), fields_of(SessionOut), fields_of(RegistrationOut)
MATCH, AGENDA, LAG = fields_of(MatchView), fields_of(AgendaData), fields_of(LagPage)
DEAL, FUNNEL = fields_of(Deal), fields_of(FunnelOut)

OPERATIONS = [
    Route("GET", "/healthz", anyone(200), fields=HEALTH),
    Route("GET", "/readyz", anyone(200), fields=HEALTH),
    Route("GET", "/metrics", operators(200)),
]
# The matching API runs here without its stream worker, which its readiness counts (by design).
MATCHING_OPERATIONS = [OPERATIONS[0], Route("GET", "/readyz", anyone(503), fields=HEALTH), OPERATIONS[2]]


def item_routes(path: str, item_id: str) -> list[Route]:
    one = f"{path}/{{item_id}}"
    return [
        Route("GET", path, signed_in(200), fields=PAGE, counts=cells(1, a=0)),
        Route("POST", path, participants(201), body=bodies.item("service"), fields=ITEM),
        Route("GET", f"{path}/{item_id}", signed_in(200), fields=ITEM, schema_path=one),
        Route("PATCH", f"{path}/{item_id}", participants(403, o=200), body={"trl": 7}, fields=ITEM, schema_path=one),
        Route("POST", f"{path}/{item_id}/withdraw", participants(403, o=200), fields=ITEM,
              schema_path=f"{one}/withdraw"),
    ]


# In the order they are called: reads before the writes that change what they read.
MATRIX: dict[str, list[Route]] = {
    "listing": [
        *OPERATIONS,
        Route("POST", "/participants", anyone(201), body=bodies.participant("university"),
              fields=PROFILE | {"api_key", "api_key_note"}),
        Route("POST", "/auth/token", anyone(200), body={"api_key": "{api_key}"},
              fields=keys("access_token", "token_type", "expires_in")),
        Route("GET", "/.well-known/jwks.json", anyone(200), fields=keys("keys"), count_of="keys", counts=anyone(1)),
        Route("GET", "/participants/me", participants(200), fields=PROFILE),
        Route("GET", "/participants/me/item-counts", participants(200), fields=keys("offers", "needs")),
        Route("PATCH", "/participants/me", participants(200), body={"display_name": {"zh": "新名称", "en": "New name"}},
              fields=PROFILE),
        Route("GET", "/participants/{owner_id}", signed_in(200),
              fields={**dict.fromkeys(Identity, PUBLIC_PROFILE), O: PROFILE, P: PROFILE},
              schema_path="/participants/{participant_id}"),
        Route("GET", "/participants?id={owner_id}&id={candidate_id}&id=p_nobody", signed_in(200), fields=keys("items"),
              counts=cells(2), schema_path="/participants"),
        Route("PUT", "/participants/{candidate_id}/organiser", operators(200), fields=PROFILE,
              body={"granted": True, "reason": "verified by the zone's office"},
              schema_path="/participants/{participant_id}/organiser"),
        *item_routes("/listings", "{item_id}"),
        *item_routes("/demands", "{demand_id}"),
        Route("POST", "/participants/me/api-key", participants(201), fields=keys("api_key", "previous_keys_valid_until")),
        Route("DELETE", "/participants/{revoked_id}/api-key", operators(204),
              schema_path="/participants/{participant_id}/api-key"),
        Route("DELETE", "/participants/me/api-key", participants(204)),
    ],
    "events_sessions": [
        *OPERATIONS,
        Route("GET", "/sessions", anyone(200), fields=PAGE, counts=anyone(1)),
        Route("GET", "/sessions/{session_id}", anyone(200), fields=SESSION),
        Route("POST", "/sessions", organisers(201), body=bodies.session(), fields=SESSION),
        Route("PATCH", "/sessions/{session_id}", organisers(200), body={"venue": "成都高新区菁蓉汇"}, fields=SESSION),
        Route("GET", "/sessions/{session_id}/registrations", organisers(200), fields=PAGE, counts=cells(2)),
        Route("POST", "/sessions/{session_id}/registrations", participants(201, o=409, c=409),
              body={"role": "attendee"}, fields=REGISTRATION),
        Route("GET", "/sessions/{session_id}/registrations/me", participants(200), fields=REGISTRATION),
        Route("GET", "/sessions/{session_id}/registrations/me/check-in.svg", participants(200),
              schema_path="/sessions/{session_id}/registrations/me/check-in.{image_format}"),
        Route("POST", "/sessions/{session_id}/meeting-requests", participants(201, c=422),
              body={"target_id": "{counterpart_id}", "preference": "would_like"}),
        Route("GET", "/sessions/{session_id}/agenda", organisers(404)),
        Route("POST", "/sessions/{session_id}/check-ins", organisers(404), body={"code": "NO-SUCH-CODE"}),
        Route("POST", "/sessions/{session_id}/no-shows", organisers(409)),
        Route("GET", "/me/registrations", participants(200), fields=PAGE, counts=cells(1, a=0, p=0)),
        Route("GET", "/me/agenda", participants(200)),
        Route("GET", "/me/agenda.ics", participants(200)),
        Route("DELETE", "/sessions/{session_id}/registrations/me", participants(200), fields=REGISTRATION),
        Route("POST", "/sessions/{session_id}/close", organisers(200, r=409), fields=SESSION),
    ],
    "matching": [
        *MATCHING_OPERATIONS,
        Route("GET", "/matches", signed_in(200), fields=MATCH_PAGE, counts=cells(0, o=1, c=1, p=1)),
        Route("GET", "/matches/{match_id}", signed_in(403, o=200, c=200, p=200), fields=MATCH),
        Route("GET", "/consortia", signed_in(200), fields=PAGE, counts=cells(0)),
        Route("GET", "/agendas/{agenda_session_id}", signed_in(200), fields=AGENDA, count_of="meetings",
              counts=cells(1, a=0, r=0, p=2), schema_path="/agendas/{session_id}"),
        Route("POST", "/matches/{match_id}/feedback", participants(403, o=202, c=202), body={"decision": "accept"},
              fields=keys("match_id", "participant_id", "decision", "reason", "event_id")),
    ],
    "notification": [
        *OPERATIONS,
        Route("GET", "/me/preferences", participants(200)),
        Route("PUT", "/me/preferences", participants(200), body={"language": "en"}),
        Route("GET", "/inbox", participants(200), fields=PAGE, counts=cells(0, o=1, c=1)),
        Route("GET", "/inbox/unread-count", participants(200), fields=keys("unread")),
        # Someone else's notification is not even confirmed to exist.
        Route("POST", "/inbox/{notification_id}/read", participants(404, o=200)),
        Route("POST", "/inbox/{notification_id}/archive", participants(404, o=200)),
        # The stream never ends once open; a bad Last-Event-ID shows the caller got past authorisation (422).
        Route("GET", "/stream", participants(422), headers={"Last-Event-ID": "not-a-number"}),
        Route("GET", "/me/deliveries", participants(200), fields=PAGE, counts=cells(0, o=1)),
        Route("GET", "/me/deliveries/{delivery_id}", participants(404, o=200),
              schema_path="/me/deliveries/{notification_id}"),
        Route("GET", "/operator/deliveries", operators(200), fields=PAGE, counts=operators(1)),
        Route("GET", "/operator/deliveries/{delivery_id}", operators(200),
              schema_path="/operator/deliveries/{notification_id}"),
        Route("POST", "/operator/deliveries/{delivery_id}/replay", operators(202),
              schema_path="/operator/deliveries/{notification_id}/replay"),
        Route("POST", "/operator/deliveries/replay", operators(202), body={"since": "2030-01-01T00:00:00Z"}),
    ],
    "monitor": [
        *OPERATIONS,
        Route("GET", "/lag", operators(200), fields=LAG),
        Route("GET", "/lag/no-such-group", operators(404), schema_path="/lag/{group}"),
        Route("GET", "/dashboard/data", operators(200)),
    ],
    # A deal, with its contract's amount, is seen by its two parties and operators only; organisers
    # see the funnel's aggregates. The counterpart confirms and closes first, then the owner.
    "deals": [
        *OPERATIONS,
        Route("GET", "/deals/{deal_id}", signed_in(403, o=200, c=200, p=200), fields=DEAL),
        Route("GET", "/funnel", organisers(200), fields=FUNNEL),
        Route("GET", "/me/deals", participants(200), fields=PAGE, counts=cells(0, o=1, c=1)),
        Route("POST", "/deals", participants(403, o=409, c=409), body={"match_id": "{match_id}"}),
        Route("POST", "/deals/{deal_id}/confirmations", participants(403, o=200, c=200), body={"stage": "met"},
              fields=DEAL),
        Route("POST", "/deals/{deal_id}/close", participants(403, o=409, c=200), body={"reason": "price_gap"},
              fields=DEAL),
    ],
    # The web app's pages call the APIs above with the signed-in participant's token (their answers
    # are the cells above); its own OpenAPI document holds only its operations.
    "web": [*OPERATIONS],
}


async def answer(client: httpx.AsyncClient, route: Route, headers: dict[str, str], ids: dict[str, str]) -> httpx.Response:
    return await client.request(route.method, filled(route.path, ids), headers={**route.headers, **headers},
                                json=filled(route.body, ids))


def verdict(route: Route, identity: Identity, response: httpx.Response) -> str | None:
    """What is wrong with ``identity``'s answer on ``route``, or None."""
    expected, status = route.status[identity], response.status_code
    if status != expected:
        return f"got {status}, expected {expected}: {response.text[:200]}"
    if status >= 400 and response.json().get("detail"):
        return None
    if status >= 400 and route.fields is None:  # a refusal says why; only /readyz's 503 is a health body
        return f"{status} without a detail saying why"
    body = response.json() if "json" in response.headers.get("content-type", "") else None
    wanted = route.fields_for(identity)
    if wanted is not None and set(body) != wanted:
        return f"fields {sorted(set(body) ^ wanted)} differ from the expected set"
    if route.counts is not None and len(body[route.count_of]) != route.counts[identity]:
        return f"{len(body[route.count_of])} {route.count_of}, expected {route.counts[identity]}"
    return None


def schema_routes(app: Any) -> set[str]:
    return {f"{method.upper()} {path}" for path, operations in app.openapi()["paths"].items() for method in operations}


@pytest.mark.parametrize("service", list(MATRIX))
async def test_authorisation_matrix(service: str, settings_of: Callable[..., Any], registry_topics) -> None:
    settings = settings_of(service)
    app = SERVICES[service].create_app(settings)
    rows = [f"{r.method} {r.schema_path or r.path}" for r in MATRIX[service]]
    assert sorted(rows) == sorted(schema_routes(app))  # one row per route of the OpenAPI document
    async with running(app) as client:
        world, headers = await make_world(service, app, client, settings)
        wrong = []
        for route in MATRIX[service]:
            for identity in CALLING_ORDER:
                problem = verdict(route, identity, await answer(client, route, headers[identity], world.ids))
                if problem:
                    wrong.append(f"{route.method} {route.path} as {identity}: {problem}")
    assert not wrong, "\n".join(wrong)


# Routes about a session only its host (or an operator) may act on; another verified organiser is refused.
HOST_ONLY = [route for route in MATRIX["events_sessions"]
             if route.status[R] != 403 and route.status[G] == 403 and "{session_id}" in route.path]


async def test_an_organiser_cannot_act_on_another_organisers_session(settings_of, registry_topics) -> None:
    settings = settings_of("events_sessions")
    app = SERVICES["events_sessions"].create_app(settings)
    async with running(app) as client:
        world, headers = await make_world("events_sessions", app, client, settings)
        rival = credentials(settings, R, "p_sec_rival_government")
        answers = {f"{r.method} {r.path}": await answer(client, r, rival, world.ids) for r in HOST_ONLY}
    assert len(answers) == 6
    assert {route: a.status_code for route, a in answers.items()} == dict.fromkeys(answers, 403)
