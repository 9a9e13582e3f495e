"""Each service's Kafka principal covers what the service's Kafka adapter uses, and no more than
its own groups; a subscriber gets read access to public topics only."""

import pytest

from services.deals import events as deals
from services.events_sessions import events as events_sessions
from services.matching import events as matching
from services.matching import ownership, projection
from services.notification import events as notification
from services.listing import events as listing
from shared import topics
from shared.kafka_principals import (
    SERVICES,
    Grant,
    Operation,
    Resource,
    UnknownTopics,
    check_subscriber_name,
    service_grants,
    subscriber_grants,
)


def _topics(service: str, operation: Operation, prefix: str = "") -> set[str]:
    return {g.name for g in service_grants(service, prefix)
            if g.resource is Resource.TOPIC and g.operation is operation and not g.prefixed}


def _groups(service: str, prefix: str = "") -> set[str]:
    return {g.name for g in service_grants(service, prefix) if g.resource is Resource.GROUP}


def test_each_consumer_reads_its_topics_in_its_own_group_and_writes_its_dead_letters():
    consumers = {
        "deals": (deals.TOPICS, [deals.CONSUMER], [topics.dead_letter(deals.CONSUMER)]),
        "events_sessions": ((topics.LISTINGS, topics.AGENDAS), [events_sessions.CONSUMER],
                            [topics.dead_letter(events_sessions.CONSUMER)]),
        # worker 1's group, and by prefix worker n's, the shared forward and owners groups, the projection's
        "matching": ((*matching.INPUTS, *matching.OUTPUTS), ["matching", "matching-"], [matching.DEAD_LETTER]),
        "notification": (notification.CONSUMED_TOPICS, [notification.CONSUMER_GROUP],
                         [topics.dead_letter(notification.CONSUMER_GROUP), notification.DELIVERY_DEAD_LETTER]),
    }
    assert {projection.GROUP, matching.FORWARD_GROUP, ownership.GROUP} == {
        "matching-projection", "matching-forward", "matching-owners"}  # under the prefix granted
    for service, (read, groups, dead_letters) in consumers.items():
        assert _topics(service, Operation.READ, "p-") == {f"p-{spec.name}" for spec in read}, service
        assert _groups(service, "p-") == {f"p-{group}" for group in groups}, service
        assert {f"p-{spec.name}" for spec in dead_letters} <= _topics(service, Operation.WRITE, "p-"), service


def test_each_topic_has_its_writers_only():
    writers = {spec.name: {s for s in SERVICES if spec.name in _topics(s, Operation.WRITE)} for spec in topics.ALL}
    assert writers["participants"] == writers["listings"] == writers["demands"] == {"listing"}
    assert {t: writers[t] for t in ("matches", "consortia", "agendas")} == {
        "matches": {"matching"}, "consortia": {"matching"}, "agendas": {"matching"}}
    assert (writers["sessions"], writers["deals"], writers["alerts"]) == ({"events_sessions"}, {"deals"}, {"monitor"})
    assert writers["match-feedback"] == {"matching"}
    assert {spec.name for spec, _ in listing.ITEM_TOPICS.values()} <= _topics("listing", Operation.WRITE)
    assert _topics("listing", Operation.READ) == set() and _groups("listing") == set()


def test_the_matching_worker_owns_its_own_topics_by_prefix_and_the_monitor_observes_every_group():
    owned = {(g.resource, g.name, g.operation) for g in service_grants("matching", "p-") if g.prefixed}
    assert owned == {(Resource.TOPIC, "p-matching-", op) for op in (
        Operation.CREATE, Operation.READ, Operation.WRITE, Operation.DESCRIBE_CONFIGS)} | {
        (Resource.GROUP, "p-matching-", Operation.READ)}  # worker n's group, forward, owners, projection
    literal_groups = {g.name for g in service_grants("matching", "p-") if g.resource is Resource.GROUP and not g.prefixed}
    assert literal_groups == {"p-matching"}
    assert {(g.resource, g.name, g.operation) for g in service_grants("monitor")} == {
        (Resource.TOPIC, "alerts", Operation.WRITE), (Resource.TOPIC, "*", Operation.DESCRIBE),
        (Resource.GROUP, "*", Operation.DESCRIBE)}


def test_a_subscriber_reads_chosen_public_topics_under_its_own_group_prefix():
    assert subscriber_grants("acme-stats", ["matches", "agendas"], "p-") == [
        Grant("acme-stats", Resource.GROUP, "acme-stats.", Operation.READ, prefixed=True),
        Grant("acme-stats", Resource.TOPIC, "p-agendas", Operation.READ),
        Grant("acme-stats", Resource.TOPIC, "p-matches", Operation.READ),
    ]


@pytest.mark.parametrize("chosen, problem", [
    (["matches", "listings"], "not public topics: listings; public topics: sessions, matches, consortia, agendas"),
    (["nothing"], "not public topics: nothing; public topics: sessions, matches, consortia, agendas"),
    ([], "no topics chosen; public topics: sessions, matches, consortia, agendas"),
])
def test_a_subscriber_gets_no_internal_or_unknown_topic(chosen, problem):
    with pytest.raises(UnknownTopics) as refused:
        subscriber_grants("acme-stats", chosen)
    assert str(refused.value) == problem


@pytest.mark.parametrize("name, problem", [
    ("matching", "subscriber name 'matching' is one of the project's own principals"),
    ("hardtech-admin", "subscriber name 'hardtech-admin' is one of the project's own principals"),
    ("Acme", "subscriber name 'Acme': 3 to 40 characters of a-z, 0-9 and '-', starting with a letter"),
    ("a.b", "subscriber name 'a.b': 3 to 40 characters of a-z, 0-9 and '-', starting with a letter"),
])
def test_a_subscriber_name_is_checked(name, problem):
    with pytest.raises(ValueError) as refused:
        check_subscriber_name(name)
    assert str(refused.value) == problem
