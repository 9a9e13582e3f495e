"""Events of every kind the notification service fans out, for unit and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.events import CloudEvent, new_event
from shared.events.common import Language, LocalizedText
from shared.events.listing import ParticipantData
from shared.events.matching import (
    AgendaData,
    AgendaSlot,
    ConsortiumData,
    ConsortiumMember,
    ConsortiumRole,
    Explanation,
    FeatureScore,
    MatchData,
    MatchRetractedData,
    MatchSide,
    Meeting,
    RetractReason,
)
from shared.events.monitor import AlertData, Severity
from shared.events.sessions import Capacity, RegistrationData, RegistrationStatus, Role, SessionData
from shared.party_types import Kind, PartyType

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _side(item: str, owner: str, party: PartyType, zh: str, en: str) -> MatchSide:
    return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh=zh, en=en))


def match_created(offer_owner: str = "p_uni", need_owner: str = "p_ent", *, score: float = 0.82,
                  match_id: str = "m_1") -> CloudEvent:
    data = MatchData(
        match_id=match_id, kind=Kind.TECHNOLOGY,
        offer=_side("l_1", offer_owner, PartyType.UNIVERSITY, "毫米波相控阵芯片", "mmWave phased-array chip"),
        need=_side("d_1", need_owner, PartyType.ENTERPRISE, "5G 基站射频前端", "5G base-station RF front end"),
        score=score,
        features=[FeatureScore(name="fields", value=1.0, weight=0.5, contribution=0.5)],
        explanation=Explanation(zh=["领域一致：5G通信"], en=["Same field: 5G communications"]),
    )
    return new_event("match.created.v1", data, source="/services/matching", subject=match_id)


def match_retracted(offer_owner: str = "p_uni", need_owner: str = "p_ent", *,
                    for_participant: str | None = None, reason: RetractReason | None = None) -> CloudEvent:
    data = MatchRetractedData(
        match_id="m_1", kind=Kind.TECHNOLOGY,
        offer=_side("l_1", offer_owner, PartyType.UNIVERSITY, "毫米波相控阵芯片", "mmWave phased-array chip"),
        need=_side("d_1", need_owner, PartyType.ENTERPRISE, "5G 基站射频前端", "5G base-station RF front end"),
        reason=reason or (RetractReason.DECLINED if for_participant else RetractReason.OFFER_WITHDRAWN),
        for_participant=for_participant,
    )
    return new_event("match.retracted.v1", data, source="/services/matching", subject="m_1")


def consortium(event_type: str = "consortium.proposed.v1") -> CloudEvent:
    members = [
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_PROVIDER, participant_id="p_uni",
                         party_type=PartyType.UNIVERSITY, item_id="l_1", match_id="m_1", score=0.8),
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id="p_ent",
                         party_type=PartyType.ENTERPRISE, item_id="d_1", match_id="m_1", score=0.8),
        ConsortiumMember(role=ConsortiumRole.CAPITAL, participant_id="p_inv", party_type=PartyType.INVESTOR,
                         item_id="l_9", score=0.7, organisation=LocalizedText(zh="蓉创投资", en="Rongchuang Capital"),
                         reason=LocalizedText(zh="覆盖射频与天线；面向成都", en="covers RF front-end and antennas; "
                                                                        "serves Chengdu")),
    ]
    data = ConsortiumData(consortium_id="c_1", technology_match_id="m_1", members=members,
                          missing_roles=[ConsortiumRole.SERVICE, ConsortiumRole.POLICY], score=0.75)
    return new_event(event_type, data, source="/services/matching", subject="c_1")


def agenda(event_type: str = "agenda.published.v1", session_id: str = "s_1") -> CloudEvent:
    slots = [AgendaSlot(index=i, starts_at=START + timedelta(minutes=20 * i),
                        ends_at=START + timedelta(minutes=20 * (i + 1))) for i in range(2)]
    meetings = [
        Meeting(slot=0, table=0, participant_ids=("p_uni", "p_ent"), match_id="m_1", score=0.8, must_meet=True),
        Meeting(slot=1, table=2, participant_ids=("p_inv", "p_uni"), score=0.6),
    ]
    data = AgendaData(session_id=session_id, version=1, slots=slots, meetings=meetings)
    return new_event(event_type, data, source="/services/matching", subject=session_id)


def session(session_id: str = "s_1") -> CloudEvent:
    data = SessionData(
        id=session_id, organiser_id="p_gov", title=LocalizedText(zh="成渝硬科技路演", en="Chengdu-Chongqing hard-tech pitch"),
        fields=["5G.RAN"], city="CN-SC.CD", venue="天府国际会议中心", starts_at=START, ends_at=START + timedelta(hours=6),
        registration_opens_at=START - timedelta(days=30), registration_closes_at=START - timedelta(days=1),
        capacity=Capacity(presenters=10, attendees=100),
    )
    return new_event("session.created.v1", data, source="/services/events_sessions", subject=session_id)


def registration(event_type: str = "registration.confirmed.v1", participant: str = "p_ent",
                 session_id: str = "s_1") -> CloudEvent:
    status = {"registration.waitlisted.v1": RegistrationStatus.WAITLISTED}.get(event_type, RegistrationStatus.CONFIRMED)
    data = RegistrationData(session_id=session_id, registration_id="r_1", participant_id=participant,
                            party_type=PartyType.ENTERPRISE, role=Role.ATTENDEE, status=status,
                            waitlist_position=3 if status is RegistrationStatus.WAITLISTED else None, sequence=1)
    return new_event(event_type, data, source="/services/events_sessions", subject=session_id)


def alert(event_type: str = "alert.raised.v1") -> CloudEvent:
    data = AlertData(alert_id="a_lag", rule="consumer_lag", severity=Severity.CRITICAL, subject="matching",
                     value=1200, threshold=1000, message=LocalizedText(zh="匹配服务消费积压", en="Matching consumer lag"),
                     since=START)
    return new_event(event_type, data, source="/services/monitor", subject="a_lag")


def participant(participant_id: str, *, email: str | None = None, language: Language = Language.ZH_CN,
                webhook_url: str | None = None, version: int = 1) -> CloudEvent:
    data = ParticipantData(id=participant_id, party_type=PartyType.ENTERPRISE,
                           organisation=LocalizedText(zh="成都某科技公司", en="Chengdu Tech Co."),
                           display_name=LocalizedText(zh="张工", en="Eng. Zhang"), region="CN-SC.CD",
                           language=language, email=email, webhook_url=webhook_url, version=version)
    return new_event("participant.registered.v1", data, source="/services/listing", subject=participant_id)


NOTIFYING_EVENTS: dict[str, CloudEvent] = {
    "match.created.v1": match_created(),
    "match.retracted.v1": match_retracted(),
    "consortium.proposed.v1": consortium("consortium.proposed.v1"),
    "consortium.updated.v1": consortium("consortium.updated.v1"),
    "agenda.published.v1": agenda("agenda.published.v1"),
    "agenda.updated.v1": agenda("agenda.updated.v1"),
    "registration.confirmed.v1": registration("registration.confirmed.v1"),
    "registration.waitlisted.v1": registration("registration.waitlisted.v1"),
    "registration.promoted.v1": registration("registration.promoted.v1"),
    "alert.raised.v1": alert("alert.raised.v1"),
    "alert.cleared.v1": alert("alert.cleared.v1"),
}
