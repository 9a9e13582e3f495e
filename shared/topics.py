"""The topic registry: every topic, its partitions and configs, its key and its event types.

Topics are created explicitly from this registry (``hardtech up``, the test harness); the
brokers' auto-creation is never relied on. ``topic_prefix`` in settings namespaces every name.

Public and internal topics: a subscriber outside the project (a transfer centre's statistics, a
bank's technology-finance desk, a city's policy office) may read only the ``PUBLIC`` topics. Their
event types carry no contact details (e-mail, phone, webhook URL), no private amounts (prices,
budgets, tickets) and no secrets; tests/unit/shared/test_public_topics.py walks their schemas.
Everything else is internal to the services:

- ``participants``: carries each participant's e-mail and webhook URL for notification.
- ``listings``, ``demands``: carry the private price, budget or ticket (``amount``).
- ``match-feedback``: a participant's own accept/decline with a free-text comment.
- ``deals``: who deals with whom, how far, and the parties' free-text reason for closing (the
  contracts' amounts are in no event at all).
- ``alerts``: the operators' alerts; dead-letter topics: failed bytes, whatever they hold.
- ``notification-notices``: notices the notification service raises for its own fan-out (a
  participant's webhook URL switched off).
- ``matching-work``: the matching worker's own input queue (copies of the internal inputs).

A public topic never becomes internal within a version; what subscribers may read of an internal
topic later goes onto a public topic as a new event type without the private fields (see
docs/event-evolution.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 3600 * 1000

COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": str(60 * 1000)}
EVENTS_7D = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}
DEAD_LETTERS_30D = {"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    description: str
    event_types: tuple[str, ...] = ()
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)
    dead_letter: bool = False
    public: bool = False  # readable by subscribers outside the project (see the module's docstring)

    def full_name(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"


def _types(*names: str) -> tuple[str, ...]:
    return names


def _lifecycle(entity: str) -> tuple[str, ...]:
    return tuple(f"{entity}.{verb}.v1" for verb in ("created", "updated", "withdrawn", "expired"))


PARTICIPANTS = TopicSpec(
    "participants", "participant id", "Participants of the six party types (no secrets)",
    _types("participant.registered.v1", "participant.updated.v1",
           "participant.organiser_granted.v1", "participant.organiser_revoked.v1"), config=COMPACTED,
)
LISTINGS = TopicSpec("listings", "listing id", "Offers: technology, capital, service, policy",
                     _lifecycle("listing"), config=COMPACTED)
DEMANDS = TopicSpec("demands", "demand id", "Needs: technology, capital, service, policy",
                    _lifecycle("demand"), config=COMPACTED)
SESSIONS = TopicSpec(
    "sessions", "session id",
    "Pitch sessions, their registrations and meeting requests, ordered per session",
    _types("session.created.v1", "session.updated.v1", "session.registration_closed.v1",
           "registration.confirmed.v1", "registration.waitlisted.v1", "registration.promoted.v1",
           "registration.cancelled.v1", "registration.checked_in.v1", "registration.no_show.v1",
           "meeting.requested.v1"),
    config=EVENTS_7D, public=True,
)
MATCHES = TopicSpec("matches", "match id", "Explained matches between an offer and a need",
                    _types("match.created.v1", "match.updated.v1", "match.retracted.v1"), config=EVENTS_7D,
                    public=True)
MATCH_FEEDBACK = TopicSpec("match-feedback", "match id", "Participants accepting or declining matches",
                           _types("match.feedback_given.v1"), config=EVENTS_7D)
CONSORTIA = TopicSpec("consortia", "consortium id", "Proposed five-party teams (五方联动)",
                      _types("consortium.proposed.v1", "consortium.updated.v1", "consortium.retracted.v1"),
                      config=EVENTS_7D, public=True)
AGENDAS = TopicSpec("agendas", "session id", "1:1 meeting agendas of sessions",
                    _types("agenda.published.v1", "agenda.updated.v1"), config=EVENTS_7D, public=True)
DEALS = TopicSpec("deals", "deal id", "Deals from a match to a signed technology contract (no amounts)",
                  _types("deal.opened.v1", "deal.stage_confirmed.v1", "deal.stage_reached.v1", "deal.closed.v1"),
                  config=EVENTS_7D)
CONVERSION_PRIORS = TopicSpec(
    "conversion-priors", "first-level field|offer party type>need party type",
    "How deals of a field and party-type pair end: a bounded prior for ranking (no amounts, no parties)",
    _types("conversion.prior_updated.v1"), config=COMPACTED)
ALERTS = TopicSpec("alerts", "alert id", "Operators' alerts from the monitor",
                   _types("alert.raised.v1", "alert.cleared.v1"), partitions=1, config=EVENTS_7D)
NOTIFICATION_NOTICES = TopicSpec(
    "notification-notices", "participant id",
    "Notices the notification service's delivery worker raises for its fan-out consumer, the one writer of inboxes",
    _types("webhook.disabled.v1"), config=EVENTS_7D)


def dead_letter(consumer: str) -> TopicSpec:
    return TopicSpec(f"{consumer}.dlq", "original key",
                     f"Messages the {consumer} consumer could not process, with the reason in headers",
                     partitions=1, config=DEAD_LETTERS_30D, dead_letter=True)


CONSUMERS = ("matching", "notification", "events_sessions", "notification-webhooks", "deals")
DEAD_LETTERS = tuple(dead_letter(c) for c in CONSUMERS)

ALL: tuple[TopicSpec, ...] = (
    PARTICIPANTS, LISTINGS, DEMANDS, SESSIONS, MATCHES, MATCH_FEEDBACK, CONSORTIA, AGENDAS, DEALS, CONVERSION_PRIORS,
    ALERTS,
    NOTIFICATION_NOTICES, *DEAD_LETTERS,
)
PUBLIC: tuple[TopicSpec, ...] = tuple(spec for spec in ALL if spec.public)

# The matching worker's queue: faust creates it (one partition) beside its tables' changelogs, so it
# is not in ALL; its records are the matching service's validated inputs, forwarded as they came.
# What the matching worker reads: the entities, sessions, feedback and the deals' outcome priors.
MATCHING_INPUTS: tuple[TopicSpec, ...] = (PARTICIPANTS, LISTINGS, DEMANDS, SESSIONS, MATCH_FEEDBACK, CONVERSION_PRIORS)
MATCHING_WORK = TopicSpec(
    "matching-work", "the input record's key",
    "The matching worker's validated inputs in one ordered queue (internal, created by the worker)",
    tuple(t for spec in MATCHING_INPUTS for t in spec.event_types),
    partitions=1,
)
# The matching workers' ownership of emission (README of matching: Scaling out): a topic that holds no
# records, whose partitions the consumer group ``matching-owners`` hands out among the workers; each
# partition's committed offset is the work-topic position up to which its owner sent every output.
# Its partition count is ``services.matching.ledger.OWNERSHIP_PARTITIONS``.
MATCHING_OWNERS = TopicSpec(
    "matching-owners", "none: it holds no records",
    "Ownership partitions of the matching workers' outputs (internal, created by the worker, empty)",
    partitions=12,
)
# Every topic of the project that carries events: what the AsyncAPI document describes.
DOCUMENTED: tuple[TopicSpec, ...] = (*ALL, MATCHING_WORK)


def topic_of_event(type_name: str) -> TopicSpec:
    for spec in ALL:
        if type_name in spec.event_types:
            return spec
    raise KeyError(type_name)
