"""Who may do what on the broker: each service's Kafka principal with exactly the topics and
consumer groups it needs, derived from the topic registry, and a subscriber's read-only access to
chosen public topics under a consumer-group prefix of its own.

The broker authorises every request with Kafka's StandardAuthorizer and denies what no ACL allows
(``allow.everyone.if.no.acl.found=false``); the operators' principal (``KAFKA_ADMIN_PRINCIPAL``)
is its only super user. ``hardtech up`` creates the principals and their ACLs
(``hardtech/kafka_access.py``); ``hardtech subscriber add|revoke`` manages subscribers. Reading or
writing a topic implies describing it, so only READ and WRITE are granted on topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shared import topics
from shared.settings import KAFKA_ADMIN_PRINCIPAL
from shared.topics import TopicSpec


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DESCRIBE = "describe"
    DESCRIBE_CONFIGS = "describe_configs"


@dataclass(frozen=True, order=True)
class Grant:
    """One ACL: ``principal`` may do ``operation`` on the resource ``name`` (or every resource whose
    name starts with ``name`` when ``prefixed``)."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    prefixed: bool = False


@dataclass(frozen=True)
class Access:
    """What one service does on the broker, in the registry's terms (names without the prefix)."""

    reads: tuple[TopicSpec, ...] = ()
    writes: tuple[TopicSpec, ...] = ()
    groups: tuple[str, ...] = ()
    # Topics the service creates and owns itself (faust's changelogs and queue), by name prefix.
    owned_topic_prefixes: tuple[str, ...] = ()
    # Consumer groups of its own, by name prefix (the matching workers' groups, one per worker).
    owned_group_prefixes: tuple[str, ...] = ()
    # Describe every topic and every consumer group (the monitor's lag sampling).
    observes_all: bool = False


def _dlq(consumer: str) -> TopicSpec:
    return topics.dead_letter(consumer)


T = topics
SERVICES: dict[str, Access] = {
    "listing": Access(writes=(T.PARTICIPANTS, T.LISTINGS, T.DEMANDS)),
    "events_sessions": Access(reads=(T.LISTINGS, T.AGENDAS), writes=(T.SESSIONS, _dlq("events_sessions")),
                              groups=("events_sessions",)),
    # The faust workers (worker 1's group ``matching``, worker n's ``matching-<n>``, their own
    # ``matching-…`` topics), the groups they share (``matching-forward``, ``matching-owners``) and
    # the read model's projection (group ``matching-projection``, reading what the worker wrote).
    "matching": Access(
        reads=(*T.MATCHING_INPUTS, T.MATCHES, T.CONSORTIA, T.AGENDAS),
        writes=(T.MATCHES, T.CONSORTIA, T.AGENDAS, T.MATCH_FEEDBACK, _dlq("matching")),
        groups=("matching",), owned_topic_prefixes=("matching-",), owned_group_prefixes=("matching-",)),
    "notification": Access(
        reads=(T.MATCHES, T.CONSORTIA, T.AGENDAS, T.SESSIONS, T.ALERTS, T.PARTICIPANTS, T.NOTIFICATION_NOTICES),
        writes=(T.NOTIFICATION_NOTICES, _dlq("notification"), _dlq("notification-webhooks")),
        groups=("notification",)),
    "monitor": Access(writes=(T.ALERTS,), observes_all=True),
    "deals": Access(reads=(T.PARTICIPANTS, T.LISTINGS, T.DEMANDS, T.SESSIONS, T.MATCHES, T.MATCH_FEEDBACK,
                           T.AGENDAS, T.DEALS),
                    writes=(T.DEALS, T.CONVERSION_PRIORS, _dlq("deals")), groups=("deals",)),
}

SUBSCRIBER_NAME = re.compile(r"[a-z][a-z0-9-]{2,39}")
RESERVED = frozenset({KAFKA_ADMIN_PRINCIPAL, *SERVICES, "web"})


def service_grants(service: str, prefix: str = "") -> list[Grant]:
    """The ACLs of ``service``'s principal for the topics and groups under ``prefix``."""
    access = SERVICES[service]
    grants = {Grant(service, Resource.TOPIC, spec.full_name(prefix), Operation.READ) for spec in access.reads}
    grants |= {Grant(service, Resource.TOPIC, spec.full_name(prefix), Operation.WRITE) for spec in access.writes}
    grants |= {Grant(service, Resource.GROUP, f"{prefix}{group}", Operation.READ) for group in access.groups}
    for owned in access.owned_topic_prefixes:
        grants |= {Grant(service, Resource.TOPIC, f"{prefix}{owned}", operation, prefixed=True)
                   for operation in (Operation.CREATE, Operation.READ, Operation.WRITE, Operation.DESCRIBE_CONFIGS)}
    grants |= {Grant(service, Resource.GROUP, f"{prefix}{owned}", Operation.READ, prefixed=True)
               for owned in access.owned_group_prefixes}
    if access.observes_all:  # "*" is Kafka's wildcard resource name: every topic, every group
        grants |= {Grant(service, Resource.TOPIC, "*", Operation.DESCRIBE),
                   Grant(service, Resource.GROUP, "*", Operation.DESCRIBE)}
    return sorted(grants)


class UnknownTopics(ValueError):
    """A subscriber asked for topics that are not public (or do not exist)."""


def subscriber_group_prefix(name: str) -> str:
    return f"{name}."


def check_subscriber_name(name: str) -> None:
    if not SUBSCRIBER_NAME.fullmatch(name):
        raise ValueError(f"subscriber name {name!r}: 3 to 40 characters of a-z, 0-9 and '-', starting with a letter")
    if name in RESERVED:
        raise ValueError(f"subscriber name {name!r} is one of the project's own principals")


def subscriber_grants(name: str, topic_names: list[str], prefix: str = "") -> list[Grant]:
    """Read access for subscriber ``name`` to the public topics named (registry names), and its
    consumer groups: every group whose name starts with ``<name>.``."""
    check_subscriber_name(name)
    public = {spec.name: spec for spec in topics.PUBLIC}
    if not topic_names:
        raise UnknownTopics("no topics chosen; public topics: " + ", ".join(public))
    if unknown := [t for t in topic_names if t not in public]:
        raise UnknownTopics(f"not public topics: {', '.join(unknown)}; public topics: {', '.join(public)}")
    grants = {Grant(name, Resource.TOPIC, public[t].full_name(prefix), Operation.READ) for t in topic_names}
    grants.add(Grant(name, Resource.GROUP, subscriber_group_prefix(name), Operation.READ, prefixed=True))
    return sorted(grants)
