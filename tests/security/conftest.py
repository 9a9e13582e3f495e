"""The security suite's shared parts: the five services as the suite knows them, and the four
identities every route is called with (anonymous, participant, organiser, operator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import FastAPI

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
from shared.auth import issue_token
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
)}


class Identity(StrEnum):
    ANONYMOUS = "anonymous"
    PARTICIPANT = "participant"  # an enterprise: participant role only
    ORGANISER = "organiser"  # a government: participant and organiser roles
    OPERATOR = "operator"


PARTY_TYPE_OF = {Identity.PARTICIPANT: PartyType.ENTERPRISE, Identity.ORGANISER: PartyType.GOVERNMENT}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def credentials(settings: CommonSettings, identity: Identity, participant_id: str) -> dict[str, str]:
    """The headers ``identity`` sends; ``participant_id`` is whom a participant's token names."""
    if identity is Identity.ANONYMOUS:
        return {}
    if identity is Identity.OPERATOR:
        return bearer(settings.operator_token.get_secret_value())
    token, _ = issue_token(settings, participant_id, PARTY_TYPE_OF[identity])
    return bearer(token)
