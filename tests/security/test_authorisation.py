"""The authorisation matrix of every service: each route is called by an anonymous caller, a
participant (an enterprise), an organiser (a government participant) and the operator.

A route lists who gets past authorisation (``allowed``: any answer but 401/403 or a 5xx) and
whom its data is hidden from (``hidden``: 404, someone else's thing is not even confirmed).
Everyone else gets 401 when anonymous and 403 otherwise, with a ``detail`` saying why.
The real things the routes name (a listing, a session, a match, a notification) are made first;
each belongs to the participant, except the session, which the organiser hosts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from shared.auth import ALGORITHM, issue_token
from shared.party_types import PartyType
from tests.security import bodies
from tests.security.conftest import SERVICES, Identity, bearer, credentials
from tests.security.world import filled, make_world
from tests.support import running

pytestmark = pytest.mark.integration

ANONYMOUS, PARTICIPANT, ORGANISER, OPERATOR = Identity
ANYONE = frozenset(Identity)
SIGNED_IN = frozenset({PARTICIPANT, ORGANISER, OPERATOR})
PARTICIPANTS = frozenset({PARTICIPANT, ORGANISER})  # a participant's token; the operator's is refused
ORGANISERS = frozenset({ORGANISER, OPERATOR})
OPERATORS = frozenset({OPERATOR})
OWNER = frozenset({PARTICIPANT})

# The owner last, so that others meet the participant's things before a withdrawal hides them.
CALLING_ORDER = [ANONYMOUS, OPERATOR, ORGANISER, PARTICIPANT]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # may name {item_id}, {demand_id}, {session_id}, {match_id}, {notification_id}, {participant_id}
    allowed: frozenset[Identity]
    hidden: frozenset[Identity] = frozenset()
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    unavailable_by_design: bool = False  # readiness answers 503 while a dependency is not ready

    def expected(self, identity: Identity) -> set[int] | None:
        """The statuses ``identity`` must get, or None when anything past authorisation will do."""
        if identity in self.allowed:
            return None
        if identity in self.hidden:
            return {404}
        return {401} if identity is ANONYMOUS else {403}


OPERATIONS = [Route("GET", "/healthz", ANYONE), Route("GET", "/readyz", ANYONE, unavailable_by_design=True),
              Route("GET", "/metrics", ANYONE)]

# In the order they are called: reads before the writes that change what they read.
MATRIX: dict[str, list[Route]] = {
    "listing": [
        *OPERATIONS,
        Route("POST", "/participants", ANYONE, body=bodies.participant("university")),
        Route("POST", "/auth/token", ANYONE, body={"api_key": "{api_key}"}),
        Route("GET", "/participants/me", PARTICIPANTS),
        Route("PATCH", "/participants/me", PARTICIPANTS, body={"display_name": {"zh": "新名称", "en": "New name"}}),
        Route("GET", "/participants/{participant_id}", SIGNED_IN),
        *[route for path, item_id in (("/listings", "{item_id}"), ("/demands", "{demand_id}")) for route in (
            Route("GET", path, SIGNED_IN),
            Route("POST", path, PARTICIPANTS, body=bodies.item("service")),
            Route("GET", f"{path}/{item_id}", SIGNED_IN),
            Route("PATCH", f"{path}/{item_id}", OWNER, body={"trl": 7}),
            Route("POST", f"{path}/{item_id}/withdraw", OWNER),
        )],
    ],
    "events_sessions": [
        *OPERATIONS,
        Route("GET", "/sessions", ANYONE),
        Route("GET", "/sessions/{session_id}", ANYONE),
        Route("POST", "/sessions", ORGANISERS, body=bodies.session()),
        Route("PATCH", "/sessions/{session_id}", ORGANISERS, body={"venue": "成都高新区菁蓉汇"}),
        Route("POST", "/sessions/{session_id}/registrations", PARTICIPANTS, body={"role": "attendee"}),
        Route("GET", "/sessions/{session_id}/registrations", ORGANISERS),
        Route("GET", "/sessions/{session_id}/registrations/me", PARTICIPANTS),
        Route("GET", "/sessions/{session_id}/registrations/me/check-in.svg", PARTICIPANTS),
        Route("POST", "/sessions/{session_id}/meeting-requests", PARTICIPANTS,
              body={"target_id": "{organiser_id}", "preference": "would_like"}),
        Route("GET", "/sessions/{session_id}/agenda", ORGANISERS),
        Route("POST", "/sessions/{session_id}/check-ins", ORGANISERS, body={"code": "NO-SUCH-CODE"}),
        Route("POST", "/sessions/{session_id}/no-shows", ORGANISERS),
        Route("GET", "/me/registrations", PARTICIPANTS),
        Route("GET", "/me/agenda", PARTICIPANTS),
        Route("GET", "/me/agenda.ics", PARTICIPANTS),
        Route("DELETE", "/sessions/{session_id}/registrations/me", PARTICIPANTS),
        Route("POST", "/sessions/{session_id}/close", ORGANISERS),
    ],
    "matching": [
        *OPERATIONS,
        Route("GET", "/matches", SIGNED_IN),
        Route("GET", "/matches/{match_id}", OWNER | OPERATORS),
        Route("POST", "/matches/{match_id}/feedback", OWNER, body={"decision": "accept"}),
        Route("GET", "/consortia", SIGNED_IN),
        Route("GET", "/agendas/s_none", SIGNED_IN),
    ],
    "notification": [
        *OPERATIONS,
        Route("GET", "/me/preferences", PARTICIPANTS),
        Route("PUT", "/me/preferences", PARTICIPANTS, body={"language": "en"}),
        Route("GET", "/inbox", PARTICIPANTS),
        Route("GET", "/inbox/unread-count", PARTICIPANTS),
        Route("POST", "/inbox/{notification_id}/read", OWNER, hidden=frozenset({ORGANISER})),
        Route("POST", "/inbox/{notification_id}/archive", OWNER, hidden=frozenset({ORGANISER})),
        # The stream never ends once open; a bad Last-Event-ID shows the caller got past authorisation (422).
        Route("GET", "/stream", PARTICIPANTS, headers={"Last-Event-ID": "not-a-number"}),
        Route("GET", "/me/deliveries/n_none", PARTICIPANTS),
        Route("GET", "/operator/deliveries", OPERATORS),
        Route("GET", "/operator/deliveries/n_none", OPERATORS),
        Route("POST", "/operator/deliveries/n_none/replay", OPERATORS),
        Route("POST", "/operator/deliveries/replay", OPERATORS, body={"since": "2030-01-01T00:00:00Z"}),
    ],
    "monitor": [
        *OPERATIONS,
        Route("GET", "/dashboard", ANYONE),  # the page holds no data; it asks for the operator token
        Route("GET", "/lag", OPERATORS),
        Route("GET", "/lag/no-such-group", OPERATORS),
        Route("GET", "/dashboard/data", OPERATORS),
    ],
}


async def answer(client: httpx.AsyncClient, route: Route, headers: dict[str, str], ids: dict[str, str]) -> httpx.Response:
    return await client.request(route.method, filled(route.path, ids), headers={**route.headers, **headers},
                                json=filled(route.body, ids))


def verdict(route: Route, identity: Identity, response: httpx.Response) -> str | None:
    """What is wrong with ``identity``'s answer on ``route``, or None."""
    expected = route.expected(identity)
    status = response.status_code
    if expected is None:
        passed = status not in (401, 403) and (status < 500 or status == 503 and route.unavailable_by_design)
        return None if passed else f"got {status}, expected to pass: {response.text}"
    if status not in expected:
        return f"got {status}, expected {sorted(expected)}: {response.text[:200]}"
    if not response.json().get("detail"):
        return f"{status} without a detail saying why"
    return None


@pytest.mark.parametrize("service", list(MATRIX))
async def test_authorisation_matrix(service: str, settings_of: Callable[..., Any], registry_topics) -> None:
    settings = settings_of(service)
    app = SERVICES[service].create_app(settings)
    async with running(app) as client:
        world = await make_world(service, app, client, settings)
        wrong = []
        for route in MATRIX[service]:
            for identity in CALLING_ORDER:
                headers = credentials(settings, identity, world.participants.get(identity, ""))
                problem = verdict(route, identity, await answer(client, route, headers, world.ids))
                if problem:
                    wrong.append(f"{route.method} {route.path} as {identity}: {problem}")
    assert not wrong, "\n".join(wrong)


# Routes about a session only its host (or an operator) may act on; another organiser is refused.
HOST_ONLY = [route for route in MATRIX["events_sessions"]
             if route.allowed == ORGANISERS and "{session_id}" in route.path]


async def test_an_organiser_cannot_act_on_another_organisers_session(settings_of, registry_topics) -> None:
    settings = settings_of("events_sessions")
    app = SERVICES["events_sessions"].create_app(settings)
    async with running(app) as client:
        world = await make_world("events_sessions", app, client, settings)
        rival = credentials(settings, ORGANISER, "p_sec_rival_government")
        answers = {f"{r.method} {r.path}": await answer(client, r, rival, world.ids) for r in HOST_ONLY}
    assert len(answers) >= 6
    assert {route: a.status_code for route, a in answers.items()} == dict.fromkeys(answers, 403)


async def test_bad_credentials_are_refused_with_a_reason(settings_of, registry_topics) -> None:
    """Expired, forged, unsigned and malformed tokens are 401s that say which; an operator claim
    in a participant's token gives no operator rights."""
    settings = settings_of("notification")
    expired, _ = issue_token(settings, "p_sec_enterprise", PartyType.ENTERPRISE, now=1_000_000)
    forged = jwt.encode({"iss": settings.jwt_issuer, "sub": "p_x", "pty": "enterprise", "roles": ["participant"],
                         "iat": 2_000_000_000, "exp": 2_000_000_900}, "another-secret-0123456789abcdef0123", ALGORITHM)
    token, _ = issue_token(settings, "p_sec_enterprise", PartyType.ENTERPRISE)
    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    escalated = jwt.encode({**claims, "roles": ["participant", "operator"]}, settings.jwt_secret.get_secret_value(),
                           ALGORITHM)
    async with running(SERVICES["notification"].create_app(settings)) as client:
        async def status_and_reason(token: str) -> tuple[int, str]:
            response = await client.get("/operator/deliveries", headers=bearer(token))
            return response.status_code, response.json()["detail"]

        assert await status_and_reason(expired) == (401, "token expired")
        assert (await status_and_reason(forged))[0] == 401
        assert "signature" in (await status_and_reason(forged))[1].lower()
        assert (await status_and_reason(unsigned))[0] == 401
        assert (await status_and_reason("not.a.jwt"))[0] == 401
        assert await status_and_reason(escalated) == (403, "operator token required")
