"""Schemathesis against every service's OpenAPI, in-process over ASGI with the app's lifespan
running on the real broker and store: no answer is a 5xx, and every answer matches its schema,
for anonymous, participant, organiser and operator callers, with valid and invalid input.

Random ids only ever find nothing (404), so each run first creates a few real things (a
session, a registration, a listing) and also fuzzes the routes about them by their real ids."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.schemas import APIOperation, BaseSchema

from services.matching.ledger import SOURCE
from services.matching.storage import MatchingStore
from shared.locks import KeyedLocks
from shared.events import CloudEvent
from shared.mongo import make_client
from tests.security import bodies
from tests.security.conftest import SERVICES, Identity, credentials
from tests.security.world import MATCH_ID, a_match

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, response_schema_conformance]
# Documented 503s, saying a dependency is down or not ready: readiness (matching's stream worker is
# not run in-process) and the monitor's stale values while Kafka does not answer its sampling.
# Such an answer must still match its schema; any other 5xx fails.
DEPENDENCY_DOWN = {"GET /readyz", "GET /lag", "GET /lag/{group}"}
# Examples per operation and caller (about 45 per operation in all); anonymous callers stop at the 401.
EXAMPLES = {Identity.ANONYMOUS: 4, Identity.OWNER: 15, Identity.ORGANISER: 15, Identity.OPERATOR: 12}
# The live stream never ends for a caller allowed to open it; the authorisation suite covers it.
ENDLESS = {"GET /stream"}
# A hang is a bug too: every call must answer within this many seconds.
ANSWER_WITHIN = 10.0
# The monitor answers 503 (documented: values not sampled yet) until its first sampling round ends.
FIRST_SAMPLE = {"monitor": "/lag"}
PATH_PARAMETER = re.compile(r"{(\w+)}")


@dataclass
class Seeded:
    """Whom the participant and organiser tokens name, and ids of real things by path parameter."""

    participants: dict[Identity, str]
    path_ids: dict[str, str] = field(default_factory=dict)


def call(schema: BaseSchema, method: str, path: str, *, expect: int, **case: Any) -> dict[str, Any]:
    response = schema[path][method].Case(**case).call(timeout=ANSWER_WITHIN)
    assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def seed(service: str, schema: BaseSchema, settings: Any) -> Seeded:
    seeded = Seeded({Identity.OWNER: "p_sec_enterprise", Identity.ORGANISER: "p_sec_government"})
    if service == "listing":  # the listing service knows its participants: register them for real
        for identity, party_type in ((Identity.OWNER, "enterprise"), (Identity.ORGANISER, "government")):
            seeded.participants[identity] = call(schema, "POST", "/participants", expect=201,
                                                 body=bodies.participant(party_type))["id"]
    as_participant = credentials(settings, Identity.OWNER, seeded.participants[Identity.OWNER])
    as_organiser = credentials(settings, Identity.ORGANISER, seeded.participants[Identity.ORGANISER])
    if service == "listing":
        listing = call(schema, "POST", "/listings", expect=201, body=bodies.item(), headers=as_participant)
        seeded.path_ids.update(item_id=listing["id"], participant_id=seeded.participants[Identity.OWNER])
    if service == "matching":  # its read model is projected by the stream worker, which is not run here
        project(settings, a_match(seeded.participants[Identity.OWNER]))
        seeded.path_ids["match_id"] = MATCH_ID
    if service == "events_sessions":
        session_id = call(schema, "POST", "/sessions", expect=201, body=bodies.session(), headers=as_organiser)["id"]
        call(schema, "POST", "/sessions/{session_id}/registrations", expect=201, body={"role": "attendee"},
             headers=as_participant, path_parameters={"session_id": session_id})
        seeded.path_ids["session_id"] = session_id
    return seeded


def project(settings: Any, event: CloudEvent) -> None:
    """Write ``event`` into matching's read model as its worker would, from this (sync) thread."""
    async def write() -> None:
        client = make_client(settings.mongodb_uri)
        try:
            await MatchingStore(client[settings.database], source=SOURCE, locks=KeyedLocks()).project(event)
        finally:
            await client.close()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(write())
    finally:
        loop.close()


def wait_until_sampled(schema: BaseSchema, path: str, operator: dict[str, str], timeout: float = 60.0) -> None:
    probe = schema[path]["GET"].Case(headers=operator)
    deadline = time.monotonic() + timeout
    while (status := probe.call().status_code) == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 200, f"GET {path} answered {status} after {timeout}s"


def examine(operation: APIOperation, headers: dict[str, str], examples: int,
            path_ids: dict[str, str]) -> Callable[[], None]:
    """A Hypothesis test calling ``operation`` with valid and invalid input, and with valid input
    about the real things in ``path_ids`` when the path names only those; each answer is checked."""
    strategy = (operation.as_strategy(GenerationMode.POSITIVE, headers=headers)
                | operation.as_strategy(GenerationMode.NEGATIVE, headers=headers))
    names = PATH_PARAMETER.findall(operation.path)
    if names and all(name in path_ids for name in names):
        strategy |= operation.as_strategy(GenerationMode.POSITIVE, headers=headers,
                                          path_parameters={name: path_ids[name] for name in names})

    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate],  # no shrinking: slow on a real store
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=ANSWER_WITHIN)
        dependency_down = response.status_code == 503 and operation.label in DEPENDENCY_DOWN
        case.validate_response(response, checks=[response_schema_conformance] if dependency_down else CHECKS,
                               headers=headers)

    return run


@pytest.mark.parametrize("service", list(SERVICES))
def test_api_answers_without_server_errors_and_matches_its_schema(service: str, settings_of,
                                                                 registry_topics) -> None:
    """One app (and lifespan) per service, examined as each caller in turn."""
    settings = settings_of(service)
    schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICES[service].create_app(settings))
    seeded = seed(service, schema, settings)
    if service in FIRST_SAMPLE:
        wait_until_sampled(schema, FIRST_SAMPLE[service], credentials(settings, Identity.OPERATOR, ""))
    failures: dict[str, str] = {}
    for identity in EXAMPLES:
        headers = credentials(settings, identity, seeded.participants.get(identity, ""))
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.label in ENDLESS and identity in (Identity.OWNER, Identity.ORGANISER):
                continue
            try:
                examine(operation, headers, EXAMPLES[identity], seeded.path_ids)()
            except Exception as failure:  # noqa: BLE001 - every operation is examined before the test fails
                failures[f"{operation.label} as {identity}"] = f"{type(failure).__name__}: {failure}"
    assert not failures, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())
