from __future__ import annotations

from services.notification.domain import fanout
from services.notification.domain.notices import OPERATOR_RECIPIENT, Channel, NotificationType, notification_id
from shared.events.matching import RetractReason
from tests.unit.notification import samples


def test_match_goes_to_both_owners_with_their_own_side():
    notices = fanout.notices(samples.match_created("p_uni", "p_ent"))
    assert [(n.recipient, n.context["own"]["item_id"], n.context["other"]["item_id"]) for n in notices] == [
        ("p_uni", "l_1", "d_1"), ("p_ent", "d_1", "l_1")]
    assert all(n.type is NotificationType.MATCH_CREATED and n.score == 0.82 for n in notices)


def test_match_between_two_items_of_one_owner_is_one_notice():
    assert [n.recipient for n in fanout.notices(samples.match_created("p_x", "p_x"))] == ["p_x"]


def test_declined_retraction_goes_to_the_decliner_only():
    assert [n.recipient for n in fanout.notices(samples.match_retracted())] == ["p_uni", "p_ent"]
    assert [n.recipient for n in fanout.notices(samples.match_retracted(for_participant="p_ent"))] == ["p_ent"]
    # pushed out of an item's top k by better matches: no one is told
    assert fanout.notices(samples.match_retracted(reason=RetractReason.OUTRANKED)) == []


def test_consortium_goes_to_every_member():
    notices = fanout.notices(samples.consortium())
    assert [n.recipient for n in notices] == ["p_uni", "p_ent", "p_inv"]
    assert notices[2].context["my_roles"] == ["capital"]


def test_each_participant_gets_only_their_own_meetings_in_time_order():
    session = samples.session().data
    notices = {n.recipient: n for n in fanout.notices(samples.agenda(), session=session)}
    assert set(notices) == {"p_uni", "p_ent", "p_inv"}
    uni = notices["p_uni"].context
    assert [m["with_id"] for m in uni["meetings"]] == ["p_ent", "p_inv"]
    assert uni["meetings"][0]["starts_at"] == "2026-06-01T09:00:00+00:00" and uni["meetings"][0]["must_meet"]
    assert [m["with_id"] for m in notices["p_ent"].context["meetings"]] == ["p_uni"]
    assert uni["session_title"]["en"] == "Chengdu-Chongqing hard-tech pitch"
    assert fanout.session_of(samples.agenda()) == "s_1"
    assert fanout.named_participants(samples.agenda()) == {"p_uni", "p_ent", "p_inv"}


def test_registrations_and_alerts():
    [confirmed] = fanout.notices(samples.registration("registration.waitlisted.v1", participant="p_9"))
    assert confirmed.recipient == "p_9" and confirmed.context["waitlist_position"] == 3
    [alert] = fanout.notices(samples.alert())
    assert alert.recipient == OPERATOR_RECIPIENT and alert.context["about"] == "matching"


def test_events_that_notify_nobody():
    assert fanout.notices(samples.session()) == []
    assert fanout.notices(samples.participant("p_1")) == []


def test_notification_id_is_stable_and_distinct_per_channel():
    assert notification_id("e1", "p1", Channel.INBOX) == notification_id("e1", "p1", "inbox")
    ids = {notification_id(e, p, c) for e in ("e1", "e2") for p in ("p1", "p2") for c in Channel}
    assert len(ids) == 16
