"""The security suite's shared parts: the six services as the suite knows them, and the four
identities every route is called with (anonymous, participant, organiser, operator)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum

import pytest
from fastapi import FastAPI

from hardtech.namespace import delete_namespace
from services.deals.app import create_app as create_deals
from services.deals.settings import Settings as DealsSettings
from services.web.app import create_app as create_web
from services.web.settings import Settings as WebSettings
from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from services.listing.app import create_app as create_listing
from services.listing.settings import Settings as ListingSettings
from services.matching.app import create_app as create_matching
from services.matching.settings import Settings as MatchingSettings
from services.monitor.app import create_app as create_monitor
from services.monitor.settings import Settings as MonitorSettings
from services.notification.app import create_app as create_notification
from services.notification.settings import Settings as NotificationSettings
from shared import topics
from shared.auth import Role, issue_token
from shared.kafka import ensure_topics
from shared.party_types import PartyType
from shared.settings import CommonSettings, ServiceSettings



@dataclass(frozen=True)
class Service:
    name: str
    create_app: Callable[..., FastAPI]
    settings: type[ServiceSettings]


SERVICES = {s.name: s for s in (
    Service("listing", create_listing, ListingSettings),
    Service("events_sessions", create_events_sessions, EventsSessionsSettings),
    Service("matching", create_matching, MatchingSettings),
    Service("notification", create_notification, NotificationSettings),
    Service("monitor", create_monitor, MonitorSettings),
    Service("deals", create_deals, DealsSettings),
    Service("web", create_web, WebSettings),  # its pages are no API (not in its OpenAPI); its operations are
)}


@pytest.fixture
async def registry_topics(common_settings: CommonSettings) -> AsyncIterator[CommonSettings]:
    """The registry's topics under this test's prefix, deleted afterwards with the test's databases:
    one broker serves every suite, and partitions left behind by each test exhaust its open files."""
    await ensure_topics(common_settings, topics.ALL)
    yield common_settings
    await delete_namespace(common_settings.kafka_bootstrap_servers, common_settings.mongodb_uri,
                           common_settings.topic_prefix)


@pytest.fixture
def settings_of(make_settings: Callable[..., ServiceSettings], namespace: str) -> Callable[..., ServiceSettings]:
    """A service's settings under this test's namespace. The monitor watches only this namespace's
    consumer groups (the cluster holds every other test's too) and gives a loaded broker longer."""

    def build(service: str, **overrides: object) -> ServiceSettings:
        if service == "monitor":
            overrides = {"group_prefix": namespace, "sample_timeout_seconds": 30.0, **overrides}
        if service == "notification":  # e-mail on, to a port where nothing listens: deliveries exist and
            # fail at their first attempt, so that an operator may replay them
            overrides = {"smtp_host": "127.0.0.1", "smtp_port": 9, "webhook_max_attempts": 1, **overrides}
        if service == "listing":  # the matrix signs up several times from one address and e-mail
            overrides = {"signup_rate_per_ip": 1000, "signup_rate_per_email": 1000, **overrides}
        return make_settings(SERVICES[service].settings, **overrides)

    return build


class Identity(StrEnum):
    ANONYMOUS = "anonymous"
    OWNER = "owner"  # an enterprise: owns the listing, the demand, the need of the match, a meeting
    OTHER = "other"  # another enterprise, party of nothing
    COUNTERPART = "counterpart"  # a university: the offer of the match, the other side of the meeting
    GOVERNMENT = "government"  # a government participant not (yet) verified as an organiser
    ORGANISER = "organiser"  # a government verified as an organiser by an operator; hosts the session
    OPERATOR = "operator"


PARTY_TYPE_OF = {Identity.OWNER: PartyType.ENTERPRISE, Identity.OTHER: PartyType.ENTERPRISE,
                 Identity.COUNTERPART: PartyType.UNIVERSITY, Identity.GOVERNMENT: PartyType.GOVERNMENT,
                 Identity.ORGANISER: PartyType.GOVERNMENT}
PARTICIPANTS = tuple(PARTY_TYPE_OF)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def credentials(settings: CommonSettings, identity: Identity, participant_id: str) -> dict[str, str]:
    """The headers ``identity`` sends; ``participant_id`` is whom a participant's token names. The
    token is what the listing service issues (local mode's development key): the organiser role
    only for the verified organiser."""
    if identity is Identity.ANONYMOUS:
        return {}
    if identity is Identity.OPERATOR:
        return bearer(settings.operator_secret() or "")
    roles = frozenset({Role.ORGANISER}) if identity is Identity.ORGANISER else frozenset()
    token, _ = issue_token(settings, participant_id, PARTY_TYPE_OF[identity], roles)
    return bearer(token)
